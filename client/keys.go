package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// JWK is one key of the JSON Web Key Set; Raw is the whole key, for a
// JOSE library.
type JWK struct {
	KeyID     string
	KeyType   string // "EC", "RSA", "OKP"
	Algorithm string
	Use       string
	Raw       json.RawMessage
}

// JWKS is the server's signing keys (GET /oauth/jwks).
type JWKS struct {
	Keys []JWK
	// Raw is the document as the server sent it.
	Raw json.RawMessage
}

// JWKS reads the keys access tokens are signed with.
func (c *Client) JWKS(ctx context.Context) (*JWKS, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/oauth/jwks"}, &raw); err != nil {
		return nil, err
	}
	var w struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("GET /oauth/jwks", err)
	}
	out := &JWKS{Keys: []JWK{}, Raw: raw}
	for _, k := range w.Keys {
		var wk struct {
			KeyID     flexString `json:"kid"`
			KeyType   flexString `json:"kty"`
			Algorithm flexString `json:"alg"`
			Use       flexString `json:"use"`
		}
		if err := json.Unmarshal(k, &wk); err != nil {
			return nil, decodeErr("GET /oauth/jwks", err)
		}
		out.Keys = append(out.Keys, JWK{KeyID: string(wk.KeyID), KeyType: string(wk.KeyType), Algorithm: string(wk.Algorithm), Use: string(wk.Use), Raw: k})
	}
	return out, nil
}

// ResourceMetadata is OAuth 2.0 Protected Resource Metadata (RFC 9728).
type ResourceMetadata struct {
	Resource               string
	AuthorizationServers   []string
	ScopesSupported        []string
	BearerMethodsSupported []string

	// Raw is the document as the server sent it.
	Raw json.RawMessage
}

// ResourceMetadata reads {baseURL}/.well-known/oauth-protected-resource,
// the metadata of the API itself as a protected resource.
func (c *Client) ResourceMetadata(ctx context.Context) (*ResourceMetadata, error) {
	var raw json.RawMessage
	const call = "GET /.well-known/oauth-protected-resource"
	if err := c.do(ctx, request{method: http.MethodGet, path: "/.well-known/oauth-protected-resource"}, &raw); err != nil {
		return nil, err
	}
	var w struct {
		Resource               flexString `json:"resource"`
		AuthorizationServers   flexList   `json:"authorization_servers"`
		ScopesSupported        flexList   `json:"scopes_supported"`
		BearerMethodsSupported flexList   `json:"bearer_methods_supported"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr(call, err)
	}
	return &ResourceMetadata{
		Resource: string(w.Resource), AuthorizationServers: w.AuthorizationServers.strings(),
		ScopesSupported: w.ScopesSupported.strings(), BearerMethodsSupported: w.BearerMethodsSupported.strings(), Raw: raw,
	}, nil
}

// OpenAPI answers the server's OpenAPI 3.1 document of this API
// (GET /openapi.json) as it was sent: JSON, for a validator or a code
// generator to read.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/openapi.json"}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
