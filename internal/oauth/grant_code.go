package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// authorizationCode runs the authorization_code grant (RFC 6749 §4.1.3).
//
// The code (made by Authorize) carries what the user approved: the client,
// the redirect_uri parameter exactly as sent to authorize ("" when none
// was), the S256 challenge, the resource and the scopes. Redemption checks
// them and issues inside one unit of work on the code's grant
// (RedeemAuthCode), so that of any number of concurrent redemptions
// exactly one succeeds; a second use revokes what the first issued.
func (p *Provider) authorizationCode(ctx context.Context, c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if !c.Allows(grantd.GrantAuthorizationCode) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the authorization_code grant")
	}
	if req.Code == "" {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidRequest, "code is required")
	}
	if len(req.Resources) > 1 {
		return TokenResponse{}, errOneResource()
	}
	withRefresh := c.Allows(grantd.GrantRefreshToken)
	now := p.now()

	var (
		resp   TokenResponse
		claims token.AccessClaims
	)
	code, err := RedeemAuthCode(ctx, p.store, token.Hash(req.Code), now, func(code grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		// Nothing is written when this answers an error, so the code
		// stays redeemable: a client that sent a wrong verifier or
		// redirect_uri has not used it.
		if err := checkCode(c, code, req, now); err != nil {
			return code, nil, err
		}
		aud, err := p.grantedAudience(code.Resource, req.Resources)
		if err != nil {
			return code, nil, err
		}
		scopes := code.Scopes
		if scopes, err = narrowScope("", scopes, p.allowedScopes(c)); err != nil {
			return code, nil, err
		}
		scope := joinScopes(scopes)
		// Signed after the commit (below): the unit records only the
		// token's jti and expiry, and runs under the one writer.
		claims = p.claims(now, accessToken{subject: code.UserID, clientID: c.ID, audience: aud, scope: scope, grantID: code.GrantID})
		exp := claims.ExpiresAt
		code.FamilyID = token.NewID()
		code.AccessJTI = claims.JTI
		code.AccessExpiresAt = &exp
		resp = TokenResponse{ExpiresIn: p.expiresIn(), Scope: scope}

		if !withRefresh {
			return code, nil, nil
		}
		var rt grantd.RefreshToken
		resp.RefreshToken, rt.Hash = token.NewOpaque(token.PrefixRefreshToken)
		rt.FamilyID = code.FamilyID
		rt.GrantID = code.GrantID
		rt.ClientID = c.ID
		rt.UserID = code.UserID
		// The refresh token keeps the scopes of the grant even if the
		// client's allowance shrank: each refresh narrows again.
		rt.Scopes = code.Scopes
		rt.Resource = code.Resource
		rt.CreatedAt = now
		rt.ExpiresAt = now.Add(p.cfg.RefreshTokenTTL)
		rt.AccessJTI = claims.JTI
		rt.AccessExpiresAt = exp
		rt.AccessScopes = scopes
		return code, &rt, nil
	})
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		p.log.WarnContext(ctx, "authorization code used twice: revoked the tokens of its first use", "client_id", c.ID, "grant_id", code.GrantID)
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "the authorization code was already used")
	case err != nil:
		return TokenResponse{}, storeErr(err, "the authorization code is invalid or expired")
	}
	// The code is used now. Should signing fail (it does not, short of a
	// broken key), the client's answer is lost as on a dropped
	// connection: the code cannot be redeemed again.
	at, err := p.signClaims(claims)
	if err != nil {
		return TokenResponse{}, err
	}
	resp.AccessToken = at.token
	return resp, nil
}

// RedeemAuthCode is the rule of redeeming a code, in one unit of work on
// its grant (Store.InGrant), so that of any number of concurrent
// redemptions exactly one succeeds. issue runs on the unused code and
// answers it with FamilyID, AccessJTI and AccessExpiresAt set, and, when
// non-nil, the first refresh token of the family; the code is marked used
// with those, the refresh token stored and the grant's last_used_at set,
// all or nothing. If issue fails nothing is written. The answer is the
// code as stored.
//
// A code already used answers it with ErrAlreadyUsed, without calling
// issue, after revoking everything its first use issued (RFC 6749
// §4.1.2: the code leaked): the code's access token and every refresh
// token of its family with its access token. That revocation is
// committed although the caller gets an error.
func RedeemAuthCode(ctx context.Context, st grantd.Store, hash string, now time.Time,
	issue func(grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error)) (grantd.AuthCode, error) {
	var (
		out    grantd.AuthCode
		reused bool
	)
	err := st.InGrant(ctx, func(tx grantd.GrantTx) error {
		out, reused = grantd.AuthCode{}, false
		code, err := tx.AuthCode(hash)
		if err != nil {
			return err
		}
		if code.UsedAt != nil {
			if code.AccessJTI != "" && code.AccessExpiresAt != nil {
				if err := tx.RevokeJTI(code.AccessJTI, *code.AccessExpiresAt); err != nil {
					return err
				}
			}
			if code.FamilyID != "" {
				if err := tx.RevokeFamily(code.FamilyID, now); err != nil {
					return err
				}
			}
			out, reused = code, true
			return nil
		}
		issued, rt, err := issue(code)
		if err != nil {
			return err
		}
		// Only the redemption fields are taken from issue's answer; the
		// rest of the code is what was stored.
		if err := tx.UseAuthCode(hash, now, issued.FamilyID, issued.AccessJTI, issued.AccessExpiresAt); err != nil {
			return err
		}
		if rt != nil {
			if err := tx.CreateRefreshToken(*rt); err != nil {
				return err
			}
		}
		if err := tx.TouchGrant(code.GrantID, now); err != nil {
			return err
		}
		// The code as stored, without reading it back: code was read
		// under its lock, and UseAuthCode wrote these four fields.
		out = code
		out.UsedAt = storedNullTime(&now)
		out.FamilyID, out.AccessJTI = issued.FamilyID, issued.AccessJTI
		out.AccessExpiresAt = storedNullTime(issued.AccessExpiresAt)
		return nil
	})
	return settled(out, err, reused, "auth code", grantd.ErrAlreadyUsed)
}

// checkCode checks that the code may be redeemed by this request.
func checkCode(c grantd.Client, code grantd.AuthCode, req TokenRequest, now time.Time) *grantd.Error {
	switch {
	case code.ClientID != c.ID:
		// Same answer as an unknown code: the code is not this client's
		// to learn anything about.
		return grantd.E(grantd.CodeInvalidGrant, "the authorization code is invalid or expired")
	case !now.Before(code.ExpiresAt):
		return grantd.E(grantd.CodeInvalidGrant, "the authorization code is invalid or expired")
	case code.RedirectURI != "" && req.RedirectURI != code.RedirectURI:
		// RFC 6749 §4.1.3: required, and identical, when authorize had it.
		return grantd.E(grantd.CodeInvalidGrant, "redirect_uri must be the one sent to the authorization endpoint")
	case code.RedirectURI == "" && req.RedirectURI != "":
		return grantd.E(grantd.CodeInvalidGrant, "redirect_uri was not sent to the authorization endpoint")
	}
	switch {
	case code.CodeChallenge == "" && req.CodeVerifier != "":
		// RFC 9700 §2.1.1: a verifier for a code without a challenge is
		// how a PKCE downgrade attack shows.
		return grantd.E(grantd.CodeInvalidGrant, "code_verifier was sent but the authorization request had no code_challenge")
	case code.CodeChallenge == "" && c.PKCERequired():
		return grantd.E(grantd.CodeInvalidGrant, "this client must use PKCE")
	case code.CodeChallenge != "" && req.CodeVerifier == "":
		return grantd.E(grantd.CodeInvalidGrant, "code_verifier is required for this code")
	case code.CodeChallenge != "" && !VerifyPKCE(code.CodeChallenge, req.CodeVerifier):
		return grantd.E(grantd.CodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// settled answers the outcome of a unit of work on a single-use thing:
// its error, or what it found (out) wrapping sentinel when the thing was
// used already (used), or out.
func settled[T any](out T, err error, used bool, what string, sentinel error) (T, error) {
	var zero T
	switch {
	case err != nil:
		return zero, err
	case used:
		return out, fmt.Errorf("%s: %w", what, sentinel)
	}
	return out, nil
}
