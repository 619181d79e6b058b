package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Grant is a user's standing consent to one client (record_type
// "oauth_grant").
type Grant struct {
	ID         string
	ClientID   string
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until a token is issued under the grant

	// Raw is the object as the server sent it.
	Raw json.RawMessage
}

type wireGrant struct {
	ID         flexString `json:"id"`
	ClientID   flexString `json:"client_id"`
	Scopes     flexList   `json:"scopes"`
	CreatedAt  flexTime   `json:"created_at"`
	LastUsedAt flexTime   `json:"last_used_at"`
}

func decodeGrant(raw json.RawMessage) (Grant, error) {
	var w wireGrant
	if err := json.Unmarshal(raw, &w); err != nil {
		return Grant{}, err
	}
	return Grant{
		ID: string(w.ID), ClientID: string(w.ClientID), Scopes: w.Scopes.strings(),
		CreatedAt: time.Time(w.CreatedAt), LastUsedAt: time.Time(w.LastUsedAt), Raw: raw,
	}, nil
}

// ListGrantsParams page GET /oauth_grants; zero values are left out.
type ListGrantsParams struct {
	PageNumber int
	PageSize   int
}

// GrantList is one page of grants.
type GrantList struct {
	Data []Grant
	Meta Meta
	// Raw is the data array as the server sent it.
	Raw json.RawMessage
}

// ListGrants lists the grants the caller's user gave, newest first.
func (c *Client) ListGrants(ctx context.Context, p ListGrantsParams) (*GrantList, error) {
	q := url.Values{}
	pageQuery(q, p.PageNumber, p.PageSize)
	data, m, raw, err := list(ctx, c, request{method: http.MethodGet, path: "/oauth_grants", query: q, auth: c.management()}, decodeGrant)
	if err != nil {
		return nil, err
	}
	return &GrantList{Data: data, Meta: m, Raw: raw}, nil
}

// GetGrant reads one of the caller's grants.
func (c *Client) GetGrant(ctx context.Context, id string) (*Grant, error) {
	return c.grantCall(ctx, request{method: http.MethodGet, path: "/oauth_grants/" + url.PathEscape(id), auth: c.management()})
}

// RevokeGrant revokes a grant and answers it as it was. Every token
// under it stops working.
func (c *Client) RevokeGrant(ctx context.Context, id string) (*Grant, error) {
	return c.grantCall(ctx, request{method: http.MethodDelete, path: "/oauth_grants/" + url.PathEscape(id), auth: c.management()})
}

func (c *Client) grantCall(ctx context.Context, r request) (*Grant, error) {
	var w data[json.RawMessage]
	if err := c.do(ctx, r, &w); err != nil {
		return nil, err
	}
	g, err := decodeGrant(w.Data)
	if err != nil {
		return nil, decodeErr(r.method+" "+r.path, err)
	}
	return &g, nil
}
