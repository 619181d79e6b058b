package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// TokenRequest is a request to the token endpoint (RFC 6749 §4, §6), as
// the adapter read it. Empty strings are absent parameters.
type TokenRequest struct {
	Client       ClientAuth
	GrantType    string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	// DeviceCode is the device_code of the device grant (RFC 8628).
	DeviceCode string
	Scope      string
	// Resources holds every resource parameter (RFC 8707); more than one
	// is invalid_target, so the adapter must not drop repeats.
	Resources []string

	// Token exchange (RFC 8693 §2.1). Audiences holds every audience
	// parameter, as Resources does.
	SubjectToken       string
	SubjectTokenType   string
	ActorToken         string
	ActorTokenType     string
	RequestedTokenType string
	Audiences          []string
}

// TokenResponse is a successful token answer; the token type is always
// Bearer.
type TokenResponse struct {
	AccessToken  string
	ExpiresIn    int64 // seconds
	Scope        string
	RefreshToken string // empty when none was issued
	// IssuedTokenType is set by token exchange only (RFC 8693 §2.2.1).
	IssuedTokenType string
}

// Token runs the token endpoint: it authenticates the client and hands
// the request to the grant type's own file.
func (p *Provider) Token(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	if req.GrantType == "" {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidRequest, "grant_type is required")
	}
	client, err := p.AuthenticateClient(ctx, req.Client, true)
	if err != nil {
		return TokenResponse{}, err
	}
	var resp TokenResponse
	switch req.GrantType {
	case grantd.GrantClientCredentials:
		resp, err = p.clientCredentials(client, req)
	case grantd.GrantAuthorizationCode:
		resp, err = p.authorizationCode(ctx, client, req)
	case grantd.GrantRefreshToken:
		resp, err = p.refreshToken(ctx, client, req)
	case grantd.GrantTokenExchange:
		resp, err = p.tokenExchange(ctx, client, req)
	case grantd.GrantDeviceCode:
		resp, err = p.deviceCode(ctx, client, req)
	default:
		return TokenResponse{}, grantd.E(grantd.CodeUnsupportedGrantType, "grant_type %s is not supported; use authorization_code, client_credentials, refresh_token, %s or %s", token.Echo(req.GrantType), grantd.GrantTokenExchange, grantd.GrantDeviceCode)
	}
	if err == nil {
		p.markUsed(ctx, client)
		p.obs.TokenIssued(req.GrantType)
	}
	return resp, err
}

// markUsed records, once, that a client not made through the API has
// obtained a token, so that the clean-up of unused registrations keeps
// it. A client of the API, or one already marked, costs nothing: the
// client_credentials path of a confidential API client writes nothing.
// A failed write is logged, not answered: the token is issued already.
//
// The engine also remembers, in memory, the clients it has marked, so
// that a client read from a cache that does not show the mark yet (or
// many first requests at once) makes one write, not one per token.
func (p *Provider) markUsed(ctx context.Context, c grantd.Client) {
	if c.ObtainedToken || c.OriginOf() == grantd.OriginAPI || p.marked.has(c.ID) {
		return
	}
	if err := p.store.MarkClientUsed(ctx, c.ID); err != nil {
		p.log.WarnContext(ctx, "recording a client's first token failed", "client_id", c.ID, "error", err)
		return
	}
	p.marked.add(c.ID)
}

// markedSize bounds the clients markUsed remembers; past it the set is
// emptied and fills again (a forgotten client costs one more write that
// changes nothing).
const markedSize = 100000

// idSet is a bounded set of ids, safe for concurrent use.
type idSet struct {
	mu  sync.RWMutex
	max int
	m   map[string]struct{}
}

func newIDSet(max int) *idSet { return &idSet{max: max, m: make(map[string]struct{})} }

func (s *idSet) has(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[id]
	return ok
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[id] = struct{}{}
}

// accessToken is an access token about to be issued.
type accessToken struct {
	subject, clientID, audience, scope, grantID string
	// act is the actor chain of an exchanged token (RFC 8693 §4.1).
	act *token.Actor
	// notAfter, when set, caps the expiry (an exchanged token never
	// outlives its subject token).
	notAfter time.Time
}

// issuedAccess is a signed access token and what the store must remember
// of it to revoke it later.
type issuedAccess struct {
	token     string
	jti       string
	expiresAt time.Time
}

// sign makes the RFC 9068 access token. It touches no database: the JWT
// is self-contained, and revocation is recorded only when it happens.
func (p *Provider) sign(now time.Time, a accessToken) (issuedAccess, error) {
	return p.signClaims(p.claims(now, a))
}

// claims answers the claims of the access token a, issued at now, with a
// new jti: what the store records of a token (its jti and expiry) is
// known before it is signed, so that a unit of work records it and the
// signature is made after the commit, outside the one writer.
func (p *Provider) claims(now time.Time, a accessToken) token.AccessClaims {
	exp := now.Add(p.cfg.AccessTokenTTL)
	if !a.notAfter.IsZero() && a.notAfter.Before(exp) {
		exp = a.notAfter
	}
	return token.AccessClaims{
		Issuer:    p.cfg.Issuer,
		Subject:   a.subject,
		Audience:  a.audience,
		ClientID:  a.clientID,
		Scope:     a.scope,
		JTI:       token.NewID(),
		IssuedAt:  now,
		ExpiresAt: exp,
		GrantID:   a.grantID,
		Act:       a.act,
	}
}

// signClaims signs the access token of claims.
func (p *Provider) signClaims(cl token.AccessClaims) (issuedAccess, error) {
	tok, err := p.keys.Sign(cl)
	if err != nil {
		return issuedAccess{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return issuedAccess{token: tok, jti: cl.JTI, expiresAt: cl.ExpiresAt}, nil
}

func (p *Provider) expiresIn() int64 { return int64(p.cfg.AccessTokenTTL / time.Second) }

// requestedAudience answers the aud for a request that is not bound to a
// resource by an earlier step: the configured identifier the single
// resource parameter names, or the issuer when there is none.
func (p *Provider) requestedAudience(resources []string) (string, error) {
	switch len(resources) {
	case 0:
		return p.cfg.Issuer, nil
	case 1:
		if aud, ok := p.resources.Match(resources[0]); ok {
			return aud, nil
		}
		return "", grantd.E(grantd.CodeInvalidTarget, "resource is not a resource of this server")
	}
	return "", errOneResource()
}

func errOneResource() *grantd.Error {
	return grantd.E(grantd.CodeInvalidTarget, "only one resource may be requested")
}

// grantedAudience answers the aud for a code or refresh token bound to
// granted (the resource chosen at authorization, "" for none, which means
// the issuer). A resource parameter may only repeat that choice: the user
// consented to one audience.
func (p *Provider) grantedAudience(granted string, resources []string) (string, error) {
	aud := granted
	if aud == "" {
		aud = p.cfg.Issuer
	}
	switch len(resources) {
	case 0:
		return aud, nil
	case 1:
		// The granted value was matched when it was stored, but the
		// operator may have removed it since: match it again.
		want, ok1 := p.resources.Match(aud)
		got, ok2 := p.resources.Match(resources[0])
		if ok1 && ok2 && got == want {
			return want, nil
		}
		return "", grantd.E(grantd.CodeInvalidTarget, "resource must be the one granted at authorization")
	}
	return "", errOneResource()
}

// narrowScope answers the scopes a token may carry: the requested ones
// (all of which must be in granted) or, when none are requested, all of
// granted; either way only those the client is still allowed
// (allowedScopes), so that narrowing a client's allowed_scopes takes
// effect at the next refresh, and a code or refresh token of a client
// without an owner that recorded a sensitive scope before such scopes
// existed never yields it.
func narrowScope(requested string, granted, clientScopes []string) ([]string, error) {
	want, ok := grantd.ParseScope(requested)
	if !ok {
		return nil, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	}
	if len(want) == 0 {
		want = granted
	} else if !grantd.Subset(want, granted) {
		return nil, grantd.E(grantd.CodeInvalidScope, "scope asks for more than was granted")
	}
	out := make([]string, 0, len(want))
	for _, s := range want {
		if slices.Contains(clientScopes, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 && len(want) > 0 {
		return nil, grantd.E(grantd.CodeInvalidScope, "this client is no longer allowed any of the granted scopes")
	}
	return out, nil
}

func joinScopes(s []string) string { return strings.Join(s, " ") }

// storeErr turns an error from a store callback or the store itself into
// one a client may see: the callback's own *grantd.Error as it is, a
// missing row as invalid_grant, anything else as a server error.
func storeErr(err error, notFound string) error {
	var ge *grantd.Error
	switch {
	case errors.As(err, &ge):
		return ge
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.E(grantd.CodeInvalidGrant, "%s", notFound)
	}
	return grantd.Wrap(grantd.CodeServerError, err, "internal error")
}

// resourceScopes answers the scopes of a token for the resource aud: a
// scope the resource does not accept is invalid_scope when the client
// asked for it by name (asked), and dropped when it came by default.
func (p *Provider) resourceScopes(aud string, scopes []string, asked bool) ([]string, error) {
	r, ok := p.resources.Lookup(aud)
	if !ok || r.Scopes == nil {
		return scopes, nil
	}
	var out []string
	for _, s := range scopes {
		switch {
		case r.Accepts(s):
			out = append(out, s)
		case asked:
			return nil, grantd.E(grantd.CodeInvalidScope, "scope %s is not accepted by the resource", token.Echo(s))
		}
	}
	if len(out) == 0 {
		return nil, grantd.E(grantd.CodeInvalidScope, "this application is allowed no scope that the resource accepts")
	}
	return out, nil
}
