package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
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
	return c.registration(ctx, request{method: http.MethodPost, path: "/oauth/register", body: p, auth: c.management()})
}

// ReadRegistration reads a registration with its registration access
// token (RFC 7592 §2.1).
func (c *Client) ReadRegistration(ctx context.Context, clientID, registrationAccessToken string) (*Registration, error) {
	return c.registration(ctx, request{method: http.MethodGet, path: "/oauth/register/" + url.PathEscape(clientID), auth: auth{bearer: registrationAccessToken}})
}

// UpdateRegistrationParams replace a registration (RFC 7592 §2.2):
// every field left empty takes its registration default again.
type UpdateRegistrationParams struct {
	RegisterParams
	// ClientID is required and must be the registration's.
	ClientID string `json:"client_id"`
	// ClientSecret, when sent, must be the issued one; it never changes.
	ClientSecret string `json:"client_secret,omitempty"`
}

// UpdateRegistration replaces a registration with its registration
// access token; p.ClientID defaults to clientID.
func (c *Client) UpdateRegistration(ctx context.Context, clientID, registrationAccessToken string, p UpdateRegistrationParams) (*Registration, error) {
	if p.ClientID == "" {
		p.ClientID = clientID
	}
	return c.registration(ctx, request{method: http.MethodPut, path: "/oauth/register/" + url.PathEscape(clientID), body: p, auth: auth{bearer: registrationAccessToken}})
}

// DeleteRegistration deletes a registered client, with its grants and
// tokens (RFC 7592 §2.3).
func (c *Client) DeleteRegistration(ctx context.Context, clientID, registrationAccessToken string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/oauth/register/" + url.PathEscape(clientID), auth: auth{bearer: registrationAccessToken}}, nil)
}

func (c *Client) registration(ctx context.Context, r request) (*Registration, error) {
	var raw json.RawMessage
	if err := c.do(ctx, r, &raw); err != nil {
		return nil, err
	}
	var w wireRegistration
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr(r.method+" "+r.path, err)
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
