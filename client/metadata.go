package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// Metadata is the authorization server metadata (RFC 8414).
type Metadata struct {
	Issuer                                     string
	AuthorizationEndpoint                      string
	TokenEndpoint                              string
	IntrospectionEndpoint                      string
	RevocationEndpoint                         string
	JWKSURI                                    string
	RegistrationEndpoint                       string // "" when registration is off
	ResponseTypesSupported                     []string
	GrantTypesSupported                        []string
	CodeChallengeMethodsSupported              []string
	ScopesSupported                            []string
	TokenEndpointAuthMethodsSupported          []string
	AuthorizationResponseIssParameterSupported bool

	// Raw is the document as the server sent it.
	Raw json.RawMessage
}

type wireMetadata struct {
	Issuer                            flexString `json:"issuer"`
	AuthorizationEndpoint             flexString `json:"authorization_endpoint"`
	TokenEndpoint                     flexString `json:"token_endpoint"`
	IntrospectionEndpoint             flexString `json:"introspection_endpoint"`
	RevocationEndpoint                flexString `json:"revocation_endpoint"`
	JWKSURI                           flexString `json:"jwks_uri"`
	RegistrationEndpoint              flexString `json:"registration_endpoint"`
	ResponseTypesSupported            flexList   `json:"response_types_supported"`
	GrantTypesSupported               flexList   `json:"grant_types_supported"`
	CodeChallengeMethodsSupported     flexList   `json:"code_challenge_methods_supported"`
	ScopesSupported                   flexList   `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported flexList   `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported             flexBool   `json:"authorization_response_iss_parameter_supported"`
}

// Metadata reads {baseURL}/.well-known/oauth-authorization-server, which
// grantd serves under /v2 as well as at the origin root.
func (c *Client) Metadata(ctx context.Context) (*Metadata, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/.well-known/oauth-authorization-server"}, &raw); err != nil {
		return nil, err
	}
	var w wireMetadata
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("GET /.well-known/oauth-authorization-server", err)
	}
	return &Metadata{
		Issuer: string(w.Issuer), AuthorizationEndpoint: string(w.AuthorizationEndpoint), TokenEndpoint: string(w.TokenEndpoint),
		IntrospectionEndpoint: string(w.IntrospectionEndpoint), RevocationEndpoint: string(w.RevocationEndpoint),
		JWKSURI: string(w.JWKSURI), RegistrationEndpoint: string(w.RegistrationEndpoint),
		ResponseTypesSupported: []string(w.ResponseTypesSupported), GrantTypesSupported: []string(w.GrantTypesSupported),
		CodeChallengeMethodsSupported: []string(w.CodeChallengeMethodsSupported), ScopesSupported: []string(w.ScopesSupported),
		TokenEndpointAuthMethodsSupported:          []string(w.TokenEndpointAuthMethodsSupported),
		AuthorizationResponseIssParameterSupported: bool(w.IssParameterSupported),
		Raw: raw,
	}, nil
}
