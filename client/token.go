package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// TokenParams is a request to POST /oauth/token. GrantType defaults to
// client_credentials. With a ClientSecret the client authenticates with
// HTTP Basic; without one it sends client_id alone, as a public client.
type TokenParams struct {
	ClientID     string
	ClientSecret string
	GrantType    string   // "client_credentials" when empty
	Scopes       []string // sent space-separated as scope
	Resource     string   // RFC 8707

	// For the authorization_code and refresh_token grants.
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string

	// For the device grant (RFC 8628): GrantType DeviceCodeGrantType.
	DeviceCode string
}

// Token is a token endpoint answer.
type Token struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int64 // seconds
	Scope        string
	RefreshToken string
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string

	// Raw is the answer as the server sent it.
	Raw json.RawMessage
}

type wireToken struct {
	AccessToken  flexString `json:"access_token"`
	TokenType    flexString `json:"token_type"`
	ExpiresIn    flexInt    `json:"expires_in"`
	Scope        flexString `json:"scope"`
	RefreshToken flexString `json:"refresh_token"`

	IssuedTokenType flexString `json:"issued_token_type"`
}

// Token asks the token endpoint for a token.
func (c *Client) Token(ctx context.Context, p TokenParams) (*Token, error) {
	gt := p.GrantType
	if gt == "" {
		gt = "client_credentials"
	}
	form := url.Values{"grant_type": {gt}}
	set := func(k, v string) {
		if v != "" {
			form.Set(k, v)
		}
	}
	set("scope", strings.Join(p.Scopes, " "))
	set("resource", p.Resource)
	set("code", p.Code)
	set("redirect_uri", p.RedirectURI)
	set("code_verifier", p.CodeVerifier)
	set("refresh_token", p.RefreshToken)
	set("device_code", p.DeviceCode)
	r := request{method: http.MethodPost, path: "/oauth/token", body: form, auth: auth{clientID: p.ClientID, clientSecret: p.ClientSecret},
		singleUse: p.Code != "" || p.RefreshToken != "" || p.DeviceCode != ""}
	return c.postToken(ctx, r)
}

// postToken sends a token request and decodes the answer.
func (c *Client) postToken(ctx context.Context, r request) (*Token, error) {
	var raw json.RawMessage
	if err := c.do(ctx, r, &raw); err != nil {
		return nil, err
	}
	var w wireToken
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("POST /oauth/token", err)
	}
	return &Token{
		AccessToken: string(w.AccessToken), TokenType: string(w.TokenType), ExpiresIn: int64(w.ExpiresIn),
		Scope: string(w.Scope), RefreshToken: string(w.RefreshToken), IssuedTokenType: string(w.IssuedTokenType), Raw: raw,
	}, nil
}

// Token exchange (RFC 8693) identifiers.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// TokenExchangeParams is a token exchange request (RFC 8693 §2.1): the
// client trades SubjectToken (a person's access token) for one towards
// Resource or Audience, acting for the person. The client authenticates
// as in TokenParams; grantd requires a confidential client.
type TokenExchangeParams struct {
	ClientID     string
	ClientSecret string

	SubjectToken     string
	SubjectTokenType string // TokenTypeAccessToken when empty
	// ActorToken, when set, names the acting party (grantd: an access
	// token issued to the exchanging client); ActorTokenType defaults to
	// TokenTypeAccessToken then.
	ActorToken         string
	ActorTokenType     string
	RequestedTokenType string // optional

	Resource string   // RFC 8707
	Audience string   // the target's logical name; grantd takes a resource identifier
	Scopes   []string // sent space-separated as scope; default the subject token's
}

// TokenExchange asks the token endpoint to exchange a token (RFC 8693).
// The answer's IssuedTokenType names what was issued; there is no
// refresh token.
func (c *Client) TokenExchange(ctx context.Context, p TokenExchangeParams) (*Token, error) {
	form := url.Values{"grant_type": {GrantTypeTokenExchange}}
	set := func(k, v string) {
		if v != "" {
			form.Set(k, v)
		}
	}
	st := p.SubjectTokenType
	if st == "" {
		st = TokenTypeAccessToken
	}
	at := p.ActorTokenType
	if at == "" && p.ActorToken != "" {
		at = TokenTypeAccessToken
	}
	set("subject_token", p.SubjectToken)
	set("subject_token_type", st)
	set("actor_token", p.ActorToken)
	set("actor_token_type", at)
	set("requested_token_type", p.RequestedTokenType)
	set("resource", p.Resource)
	set("audience", p.Audience)
	set("scope", strings.Join(p.Scopes, " "))
	return c.postToken(ctx, request{method: http.MethodPost, path: "/oauth/token", body: form, auth: auth{clientID: p.ClientID, clientSecret: p.ClientSecret}})
}

// IntrospectParams is a request to POST /oauth/introspect (RFC 7662).
// The caller is a confidential client (ClientID and ClientSecret) or,
// without them, a bearer (RFC 7662 §2.1): Bearer when set, else the
// Client's API key. Which tokens a bearer may learn about is the
// server's rule (grantd: docs/SECURITY.md).
type IntrospectParams struct {
	ClientID      string
	ClientSecret  string
	Bearer        string // an API key or an access token for the API
	Token         string
	TokenTypeHint string
}

// Introspection is an introspection answer. Only Active is set for a
// token that is not live.
type Introspection struct {
	Active    bool
	Scope     string
	ClientID  string
	Subject   string
	Audience  []string
	Issuer    string
	ExpiresAt int64 // Unix seconds
	IssuedAt  int64
	TokenType string // "access_token" or "refresh_token"
	JTI       string
	GrantID   string
	// Act is the delegation chain of an exchanged token (RFC 8693 §4.1),
	// the most recent actor outermost; nil when there is none (or the
	// server sent one this client cannot read: see Raw).
	Act *Actor

	// Raw is the answer as the server sent it.
	Raw json.RawMessage
}

// Actor is one link of an act claim (RFC 8693 §4.1).
type Actor struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

type wireIntrospection struct {
	Active    flexBool   `json:"active"`
	Scope     flexString `json:"scope"`
	ClientID  flexString `json:"client_id"`
	Subject   flexString `json:"sub"`
	Audience  flexList   `json:"aud"`
	Issuer    flexString `json:"iss"`
	ExpiresAt flexInt    `json:"exp"`
	IssuedAt  flexInt    `json:"iat"`
	TokenType flexString `json:"token_type"`
	JTI       flexString `json:"jti"`
	GrantID   flexString `json:"grant_id"`

	Act json.RawMessage `json:"act"`
}

// Introspect asks whether a token is live, and what it carries.
func (c *Client) Introspect(ctx context.Context, p IntrospectParams) (*Introspection, error) {
	form := url.Values{"token": {p.Token}}
	if p.TokenTypeHint != "" {
		form.Set("token_type_hint", p.TokenTypeHint)
	}
	var raw json.RawMessage
	a := auth{clientID: p.ClientID, clientSecret: p.ClientSecret}
	if p.ClientID == "" {
		a = auth{bearer: p.Bearer}
		if a.bearer == "" {
			a.bearer = c.apiKey
		}
	}
	r := request{method: http.MethodPost, path: "/oauth/introspect", body: form, auth: a}
	if err := c.do(ctx, r, &raw); err != nil {
		return nil, err
	}
	var w wireIntrospection
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("POST /oauth/introspect", err)
	}
	return &Introspection{
		Active: bool(w.Active), Scope: string(w.Scope), ClientID: string(w.ClientID), Subject: string(w.Subject),
		Audience: []string(w.Audience), Issuer: string(w.Issuer), ExpiresAt: int64(w.ExpiresAt), IssuedAt: int64(w.IssuedAt),
		TokenType: string(w.TokenType), JTI: string(w.JTI), GrantID: string(w.GrantID), Act: actorOf(w.Act), Raw: raw,
	}, nil
}

// RevokeParams is a request to POST /oauth/revoke (RFC 7009). A public
// client leaves ClientSecret empty.
type RevokeParams struct {
	ClientID      string
	ClientSecret  string
	Token         string
	TokenTypeHint string
}

// Revoke revokes a token of the calling client. The server answers
// success for tokens it does not know, as RFC 7009 requires.
func (c *Client) Revoke(ctx context.Context, p RevokeParams) error {
	form := url.Values{"token": {p.Token}}
	if p.TokenTypeHint != "" {
		form.Set("token_type_hint", p.TokenTypeHint)
	}
	return c.do(ctx, request{method: http.MethodPost, path: "/oauth/revoke", body: form, auth: auth{clientID: p.ClientID, clientSecret: p.ClientSecret}}, nil)
}

// actorOf reads an act member leniently: one that is not an object with a
// string sub is no actor the caller can use.
func actorOf(raw json.RawMessage) *Actor {
	var a Actor
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil || a.Subject == "" {
		return nil
	}
	return &a
}
