package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OAuthClient is an OAuth client of the management API (record_type
// "oauth_client").
type OAuthClient struct {
	ClientID          string
	Name              string
	OrgID             string // "" for a client with no owner
	UserID            string
	ClientType        string // "public" or "confidential"
	RequirePKCE       bool
	AllowedGrantTypes []string
	AllowedScopes     []string
	RedirectURIs      []string
	// ClientSecret is set only in the answer to the creation of a
	// confidential client; the server cannot show it again.
	ClientSecret string
	LogoURI      string
	TOSURI       string
	PolicyURI    string
	Verified     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// TokenExchangeResources are the resources the client may exchange a
	// person's token for (RFC 8693).
	TokenExchangeResources []string

	// Raw is the object as the server sent it.
	Raw json.RawMessage
}

type wireClient struct {
	ClientID          flexString `json:"client_id"`
	Name              flexString `json:"name"`
	OrgID             flexString `json:"org_id"`
	UserID            flexString `json:"user_id"`
	ClientType        flexString `json:"client_type"`
	RequirePKCE       flexBool   `json:"require_pkce"`
	AllowedGrantTypes flexList   `json:"allowed_grant_types"`
	AllowedScopes     flexList   `json:"allowed_scopes"`
	RedirectURIs      flexList   `json:"redirect_uris"`
	ClientSecret      flexString `json:"client_secret"`
	LogoURI           flexString `json:"logo_uri"`
	TOSURI            flexString `json:"tos_uri"`
	PolicyURI         flexString `json:"policy_uri"`
	Verified          flexBool   `json:"verified"`
	CreatedAt         flexTime   `json:"created_at"`
	UpdatedAt         flexTime   `json:"updated_at"`

	TokenExchangeResources flexList `json:"token_exchange_resources"`
}

func decodeClient(raw json.RawMessage) (OAuthClient, error) {
	var w wireClient
	if err := json.Unmarshal(raw, &w); err != nil {
		return OAuthClient{}, err
	}
	return OAuthClient{
		ClientID: string(w.ClientID), Name: string(w.Name), OrgID: string(w.OrgID), UserID: string(w.UserID),
		ClientType: string(w.ClientType), RequirePKCE: bool(w.RequirePKCE),
		AllowedGrantTypes: w.AllowedGrantTypes.strings(), AllowedScopes: w.AllowedScopes.strings(), RedirectURIs: w.RedirectURIs.strings(),
		ClientSecret: string(w.ClientSecret), LogoURI: string(w.LogoURI), TOSURI: string(w.TOSURI), PolicyURI: string(w.PolicyURI),
		Verified: bool(w.Verified), CreatedAt: time.Time(w.CreatedAt), UpdatedAt: time.Time(w.UpdatedAt),
		TokenExchangeResources: w.TokenExchangeResources.strings(),
		Raw:                    raw,
	}, nil
}

// ListClientsParams page and filter GET /oauth_clients. Zero values are
// left out, so the server's defaults apply.
type ListClientsParams struct {
	PageNumber int
	PageSize   int

	ClientType                string // filter[client_type]
	Name                      string // filter[name]
	NameContains              string // filter[name][contains]
	ClientID                  string // filter[client_id]
	AllowedGrantTypesContains string // filter[allowed_grant_types][contains]
	Verified                  *bool  // filter[verified]
}

func (p ListClientsParams) query() url.Values {
	q := url.Values{}
	pageQuery(q, p.PageNumber, p.PageSize)
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("filter[client_type]", p.ClientType)
	set("filter[name]", p.Name)
	set("filter[name][contains]", p.NameContains)
	set("filter[client_id]", p.ClientID)
	set("filter[allowed_grant_types][contains]", p.AllowedGrantTypesContains)
	if p.Verified != nil {
		q.Set("filter[verified]", strconv.FormatBool(*p.Verified))
	}
	return q
}

// ClientList is one page of clients.
type ClientList struct {
	Data []OAuthClient
	Meta Meta
	// Raw is the data array as the server sent it.
	Raw json.RawMessage
}

// ListClients lists the caller's clients, newest first.
func (c *Client) ListClients(ctx context.Context, p ListClientsParams) (*ClientList, error) {
	data, m, raw, err := list(ctx, c, request{method: http.MethodGet, path: "/oauth_clients", query: p.query(), auth: c.management()}, decodeClient)
	if err != nil {
		return nil, err
	}
	return &ClientList{Data: data, Meta: m, Raw: raw}, nil
}

// CreateClientParams is the body of POST /oauth_clients. Name,
// AllowedScopes, ClientType and AllowedGrantTypes are required.
type CreateClientParams struct {
	Name              string   `json:"name"`
	AllowedScopes     []string `json:"allowed_scopes"`
	ClientType        string   `json:"client_type"`
	AllowedGrantTypes []string `json:"allowed_grant_types"`
	RedirectURIs      []string `json:"redirect_uris,omitempty"`
	RequirePKCE       *bool    `json:"require_pkce,omitempty"`
	LogoURI           string   `json:"logo_uri,omitempty"`
	TOSURI            string   `json:"tos_uri,omitempty"`
	PolicyURI         string   `json:"policy_uri,omitempty"`

	TokenExchangeResources []string `json:"token_exchange_resources,omitempty"`
}

// CreateClient creates a client owned by the caller. The answer of a
// confidential client carries its ClientSecret, once.
func (c *Client) CreateClient(ctx context.Context, p CreateClientParams) (*OAuthClient, error) {
	return c.clientCall(ctx, request{method: http.MethodPost, path: "/oauth_clients", body: p, auth: c.management()})
}

// GetClient reads one of the caller's clients.
func (c *Client) GetClient(ctx context.Context, clientID string) (*OAuthClient, error) {
	return c.clientCall(ctx, request{method: http.MethodGet, path: "/oauth_clients/" + url.PathEscape(clientID), auth: c.management()})
}

// UpdateClientParams is the body of PUT /oauth_clients/{id}: only the
// fields that are not nil are sent, and only those change. A pointer to
// an empty string or list clears an optional field.
type UpdateClientParams struct {
	Name              *string   `json:"name,omitempty"`
	AllowedScopes     *[]string `json:"allowed_scopes,omitempty"`
	AllowedGrantTypes *[]string `json:"allowed_grant_types,omitempty"`
	RedirectURIs      *[]string `json:"redirect_uris,omitempty"`
	RequirePKCE       *bool     `json:"require_pkce,omitempty"`
	LogoURI           *string   `json:"logo_uri,omitempty"`
	TOSURI            *string   `json:"tos_uri,omitempty"`
	PolicyURI         *string   `json:"policy_uri,omitempty"`

	TokenExchangeResources *[]string `json:"token_exchange_resources,omitempty"`
}

// UpdateClient changes the fields p sets.
func (c *Client) UpdateClient(ctx context.Context, clientID string, p UpdateClientParams) (*OAuthClient, error) {
	return c.clientCall(ctx, request{method: http.MethodPut, path: "/oauth_clients/" + url.PathEscape(clientID), body: p, auth: c.management()})
}

// DeleteClient deletes a client with its grants and tokens.
func (c *Client) DeleteClient(ctx context.Context, clientID string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/oauth_clients/" + url.PathEscape(clientID), auth: c.management()}, nil)
}

func (c *Client) clientCall(ctx context.Context, r request) (*OAuthClient, error) {
	var w data[json.RawMessage]
	if err := c.do(ctx, r, &w); err != nil {
		return nil, err
	}
	oc, err := decodeClient(w.Data)
	if err != nil {
		return nil, decodeErr(r.method+" "+r.path, err)
	}
	return &oc, nil
}
