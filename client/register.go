package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// RegisterParams is the client metadata of POST /oauth/register (RFC
// 7591). Empty fields are left out, so the server's defaults apply.
type RegisterParams struct {
	ClientName              string   `json:"client_name,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	Scope                   string   `json:"scope,omitempty"` // space-separated
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
}

// Registration is a registration answer (RFC 7591 §3.2.1, RFC 7592).
type Registration struct {
	ClientID                string
	ClientIDIssuedAt        int64 // Unix seconds
	ClientSecret            string
	ClientSecretExpiresAt   int64 // 0: never
	ClientName              string
	GrantTypes              []string
	RedirectURIs            []string
	ResponseTypes           []string
	Scope                   string
	TokenEndpointAuthMethod string
	LogoURI                 string
	TOSURI                  string
	PolicyURI               string
	RegistrationAccessToken string
	RegistrationClientURI   string

	// Raw is the answer as the server sent it.
	Raw json.RawMessage
}

type wireRegistration struct {
	ClientID                flexString `json:"client_id"`
	ClientIDIssuedAt        flexInt    `json:"client_id_issued_at"`
	ClientSecret            flexString `json:"client_secret"`
	ClientSecretExpiresAt   flexInt    `json:"client_secret_expires_at"`
	ClientName              flexString `json:"client_name"`
	GrantTypes              flexList   `json:"grant_types"`
	RedirectURIs            flexList   `json:"redirect_uris"`
	ResponseTypes           flexList   `json:"response_types"`
	Scope                   flexString `json:"scope"`
	TokenEndpointAuthMethod flexString `json:"token_endpoint_auth_method"`
	LogoURI                 flexString `json:"logo_uri"`
	TOSURI                  flexString `json:"tos_uri"`
	PolicyURI               flexString `json:"policy_uri"`
	RegistrationAccessToken flexString `json:"registration_access_token"`
	RegistrationClientURI   flexString `json:"registration_client_uri"`
}

// Register registers a client dynamically. The API key, if the Client
// has one, is sent as the initial access token, which a server whose
// policy is api_key requires and an open one ignores.
func (c *Client) Register(ctx context.Context, p RegisterParams) (*Registration, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/register", body: p, auth: c.management()}, &raw); err != nil {
		return nil, err
	}
	var w wireRegistration
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("POST /oauth/register", err)
	}
	return &Registration{
		ClientID: string(w.ClientID), ClientIDIssuedAt: int64(w.ClientIDIssuedAt),
		ClientSecret: string(w.ClientSecret), ClientSecretExpiresAt: int64(w.ClientSecretExpiresAt),
		ClientName: string(w.ClientName), GrantTypes: w.GrantTypes.strings(), RedirectURIs: w.RedirectURIs.strings(),
		ResponseTypes: w.ResponseTypes.strings(), Scope: string(w.Scope), TokenEndpointAuthMethod: string(w.TokenEndpointAuthMethod),
		LogoURI: string(w.LogoURI), TOSURI: string(w.TOSURI), PolicyURI: string(w.PolicyURI),
		RegistrationAccessToken: string(w.RegistrationAccessToken), RegistrationClientURI: string(w.RegistrationClientURI),
		Raw: raw,
	}, nil
}
