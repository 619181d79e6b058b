package oauth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// refreshToken runs the refresh_token grant (RFC 6749 §6) with rotation
// on every use (RFC 9700 §4.14.2). Presenting a rotated-out token is
// reuse: every token under the grant is revoked and the grant kept,
// since the user's consent is not what leaked (RotateRefreshToken).
//
// A retry is the exception, within Config.RefreshGrace of the rotation: a
// client whose answer was lost (a crash, a dropped connection) presents
// the token it just rotated again. It gets the first answer again, the
// same refresh token and the same access token, so that nothing is minted
// twice and nothing is revoked. The successor is derived from the
// presented token (token.Keyring.RefreshSuccessor), which is how the
// retry can hand out a token of which the database keeps only the hash.
// Only the same request qualifies; see retryRefresh.
func (p *Provider) refreshToken(ctx context.Context, c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if !c.Allows(grantd.GrantRefreshToken) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the refresh_token grant")
	}
	if req.RefreshToken == "" {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidRequest, "refresh_token is required")
	}
	if len(req.Resources) > 1 {
		return TokenResponse{}, errOneResource()
	}
	if _, ok := grantd.ParseScope(req.Scope); !ok {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	}
	if !token.HasPrefix(req.RefreshToken, token.PrefixRefreshToken) {
		return TokenResponse{}, errBadRefresh()
	}
	now := p.now()

	var (
		resp   TokenResponse
		claims token.AccessClaims // of the new access token, signed after the commit
		retry  bool
		why    string // why a retry was refused as reuse, for the log
	)
	old, err := RotateRefreshToken(ctx, p.store, token.Hash(req.RefreshToken), now, p.cfg.RefreshGrace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		resp, retry, why = TokenResponse{}, false, ""
		if old.ClientID != c.ID || !now.Before(old.ExpiresAt) {
			return old, errBadRefresh()
		}
		aud, scopes, err := p.refreshRequest(c, old, req)
		if err != nil {
			return old, err
		}
		scope := joinScopes(scopes)
		// The unit records the new access token's jti and expiry; the
		// signature is made after the commit, outside the one writer.
		claims = p.claims(now, accessToken{subject: old.UserID, clientID: c.ID, audience: aud, scope: scope, grantID: old.GrantID})
		resp = TokenResponse{ExpiresIn: p.expiresIn(), Scope: scope, RefreshToken: p.keys.RefreshSuccessor(req.RefreshToken)}
		return grantd.RefreshToken{
			Hash:     token.Hash(resp.RefreshToken),
			FamilyID: old.FamilyID,
			GrantID:  old.GrantID,
			ClientID: old.ClientID,
			UserID:   old.UserID,
			// RFC 6749 §6: the new refresh token has the old one's
			// scope; only the access token is narrowed.
			Scopes:    old.Scopes,
			Resource:  old.Resource,
			CreatedAt: now,
			// Sliding: a token in use stays usable; one left alone for
			// RefreshTokenTTL dies.
			ExpiresAt:       now.Add(p.cfg.RefreshTokenTTL),
			AccessJTI:       claims.JTI,
			AccessExpiresAt: claims.ExpiresAt,
			AccessScopes:    scopes,
		}, nil
	}, func(old, succ grantd.RefreshToken) error {
		var err error
		resp, why, err = p.retryRefresh(c, old, succ, req, now)
		retry = err == nil
		return err
	})
	switch {
	case errors.Is(err, grantd.ErrReused):
		if why == "" {
			why = "rotated or revoked before"
		}
		p.log.WarnContext(ctx, "refresh token reused: revoked every token under its grant", "client_id", c.ID, "grant_id", old.GrantID, "why", why)
		p.obs.RefreshReused()
		return TokenResponse{}, errBadRefresh()
	case err != nil:
		return TokenResponse{}, storeErr(err, errBadRefresh().Description)
	}
	if retry {
		p.log.InfoContext(ctx, "refresh token retried within grace: answered its successor again", "client_id", c.ID, "grant_id", old.GrantID)
		return resp, nil
	}
	// The rotation is committed. Should signing fail (it does not, short
	// of a broken key), the client's answer is lost as on a dropped
	// connection, and its retry within grace is answered again.
	at, err := p.signClaims(claims)
	if err != nil {
		return TokenResponse{}, err
	}
	resp.AccessToken = at.token
	return resp, nil
}

// RotateRefreshToken is the rule of rotation with reuse detection (RFC
// 9700 §4.14.2), in one unit of work on the token's grant
// (Store.InGrant). next runs on the presented live token, validates it
// and answers its successor; the old token is marked rotated into it,
// the successor stored and the grant's last_used_at set, all or nothing.
// The answer is the successor as stored.
//
// Presenting a rotated token again is reuse: every token under its grant
// is revoked (the grant stays) and the answer is the presented token with
// ErrReused, the revocation committed although the caller gets an error.
// Grace zero means no grace: any rotated token presented again is reuse,
// even at the very instant it was rotated, which is what makes concurrent
// presentations of one token yield a single success.
//
// The one exception is a retry: when the token was rotated no more than
// grace ago and its successor is still live and not rotated itself (a
// client that used the successor has received it), retry (when non-nil)
// runs on the token and that successor instead of next. retry answering
// nil answers the successor again, unchanged, and writes nothing, so that
// however often a client retries, and on whichever node, there is one
// successor; an error wrapping ErrReused makes it reuse; any other error
// is returned as it is and nothing is written. The window counts from the
// first rotation, so retries cannot stretch it.
//
// A revoked token answers ErrReused and revokes nothing more: its
// family's revocation has happened, and replaying an old token must not
// reach tokens the user obtained since.
func RotateRefreshToken(ctx context.Context, st grantd.Store, hash string, now time.Time, grace time.Duration,
	next func(grantd.RefreshToken) (grantd.RefreshToken, error), retry func(old, succ grantd.RefreshToken) error) (grantd.RefreshToken, error) {
	var (
		out    grantd.RefreshToken
		reused bool
	)
	err := st.InGrant(ctx, func(tx grantd.GrantTx) error {
		out, reused = grantd.RefreshToken{}, false
		old, revoked, err := tx.RefreshToken(hash)
		if err != nil {
			return err
		}
		if revoked {
			out, reused = old, true
			return nil
		}
		if old.RotatedAt != nil {
			succ, ok, err := retriable(tx, old, now, grace)
			if err != nil {
				return err
			}
			if ok && retry != nil {
				err := retry(old, succ)
				switch {
				case err == nil:
					out = succ
					return nil
				case !errors.Is(err, grantd.ErrReused):
					return err
				}
			}
			// Reuse: the token leaked, or the client is broken.
			if err := tx.RevokeGrantTokens(old.GrantID, now); err != nil {
				return err
			}
			out, reused = old, true
			return nil
		}

		succ, err := next(old)
		if err != nil {
			return err
		}
		if err := tx.RotateRefreshToken(hash, now, succ.Hash); err != nil {
			return err
		}
		if err := tx.CreateRefreshToken(succ); err != nil {
			return err
		}
		if err := tx.TouchGrant(old.GrantID, now); err != nil {
			return err
		}
		// The successor as stored, without reading it back: a round trip
		// less on every refresh.
		out = storedRefresh(succ)
		return nil
	})
	return settled(out, err, reused, "refresh token", grantd.ErrReused)
}

// retriable answers the successor of the rotated token old when
// presenting old again may be a retry: rotated no more than grace ago,
// and the successor it recorded still live and not rotated itself.
// Anything else is reuse.
func retriable(tx grantd.GrantTx, old grantd.RefreshToken, now time.Time, grace time.Duration) (grantd.RefreshToken, bool, error) {
	if grace <= 0 || now.Sub(*old.RotatedAt) > grace || old.SuccessorHash == "" {
		return grantd.RefreshToken{}, false, nil
	}
	succ, revoked, err := tx.RefreshToken(old.SuccessorHash)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.RefreshToken{}, false, nil
	case err != nil:
		return grantd.RefreshToken{}, false, err
	case revoked || succ.RotatedAt != nil:
		return grantd.RefreshToken{}, false, nil
	}
	return succ, true, nil
}

// refreshRequest answers the audience and the scopes of the access token
// a refresh of old asks for, checked as every refresh is.
func (p *Provider) refreshRequest(c grantd.Client, old grantd.RefreshToken, req TokenRequest) (string, []string, error) {
	aud, err := p.grantedAudience(old.Resource, req.Resources)
	if err != nil {
		return "", nil, err
	}
	scopes, err := narrowScope(req.Scope, old.Scopes, p.allowedScopes(c))
	if err != nil {
		return "", nil, err
	}
	if scopes, err = p.resourceScopes(aud, scopes, req.Scope != ""); err != nil {
		return "", nil, err
	}
	return aud, scopes, nil
}

// retryRefresh decides a presentation of old, rotated within grace into
// succ, which the client has not used: a retry of the same request by the
// same client answers the first answer again; anything else is reuse.
//
//   - Another client: a token is its own client's, so a rotated one in
//     anyone else's hands has leaked. Reuse.
//   - The same client asking for other scopes (or, the client's allowance
//     having changed since, getting other scopes): not the request whose
//     answer was lost. Answering it would hand out a token of other
//     scopes than asked, so it is reuse, as a rotated token presented
//     again is everywhere else.
//   - A request that is bad on its own (scope beyond the grant, another
//     resource) is answered as on any refresh, and nothing is revoked.
//
// The refresh token is derived again from the presented one and must be
// succ's; the access token is signed again with succ's jti, iat and exp,
// so it is the first one in substance (same claims; an ES256 signature
// differs each time it is made). expires_in is what is left of it.
//
// It answers the response, why a refusal is reuse (for the log), and an
// error: one wrapping ErrReused for reuse, or the one to answer.
func (p *Provider) retryRefresh(c grantd.Client, old, succ grantd.RefreshToken, req TokenRequest, now time.Time) (TokenResponse, string, error) {
	if old.ClientID != c.ID {
		return TokenResponse{}, "presented by another client", grantd.ErrReused
	}
	aud, scopes, err := p.refreshRequest(c, old, req)
	if err != nil {
		return TokenResponse{}, "", err
	}
	if !sameScopes(scopes, succ.AccessScopes) {
		return TokenResponse{}, "a retry asking for other scopes", grantd.ErrReused
	}
	if !now.Before(succ.ExpiresAt) || !now.Before(succ.AccessExpiresAt) {
		return TokenResponse{}, "", errBadRefresh()
	}
	rt := p.keys.RefreshSuccessor(req.RefreshToken)
	if !token.Equal(rt, succ.Hash) {
		// Made with another master key, or by a node of an older
		// version: this node cannot answer it again. The client's next
		// attempt, after grace, is reuse.
		return TokenResponse{}, "", errBadRefresh()
	}
	scope := joinScopes(scopes)
	at, err := p.keys.Sign(token.AccessClaims{
		Issuer:    p.cfg.Issuer,
		Subject:   succ.UserID,
		Audience:  aud,
		ClientID:  c.ID,
		Scope:     scope,
		JTI:       succ.AccessJTI,
		IssuedAt:  succ.CreatedAt,
		ExpiresAt: succ.AccessExpiresAt,
		GrantID:   succ.GrantID,
	})
	if err != nil {
		return TokenResponse{}, "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return TokenResponse{
		AccessToken:  at,
		ExpiresIn:    int64(succ.AccessExpiresAt.Sub(now) / time.Second),
		Scope:        scope,
		RefreshToken: rt,
	}, "", nil
}

// sameScopes reports whether a and b hold the same scopes, in any order.
func sameScopes(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// errBadRefresh is the one answer for a refresh token that is unknown,
// expired, rotated out, revoked or another client's: which of these it
// was is nobody's business but the log's.
func errBadRefresh() *grantd.Error {
	return grantd.E(grantd.CodeInvalidGrant, "the refresh token is invalid, expired or revoked")
}
