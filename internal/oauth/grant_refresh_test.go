package oauth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// testGrace is the refresh grace of these tests, SPEC's default.
const testGrace = 5 * time.Second

// codeTokens runs the code flow for the user and the client (secret
// "secret") and answers the token response.
func (e *flowEnv) codeTokens(t *testing.T, userID string, c grantd.Client) TokenResponse {
	t.Helper()
	to := approve(t, e, userID, authzQuery(c, "scope", "read write", "prompt", "consent"))
	resp, err := e.p.Token(context.Background(), TokenRequest{
		Client:       ClientAuth{ClientID: c.ID, ClientSecret: "secret"},
		GrantType:    grantd.GrantAuthorizationCode,
		Code:         answerParams(t, to, "https://app.example/cb").Get("code"),
		RedirectURI:  "https://app.example/cb",
		CodeVerifier: strings.Repeat("v", 43),
	})
	if err != nil {
		t.Fatalf("redeem code: %v", err)
	}
	return resp
}

// refresh presents the refresh token as the client, asking for scope
// ("" for all of the grant's).
func (e *flowEnv) refresh(c grantd.Client, rt, scope string) (TokenResponse, error) {
	return e.p.Token(context.Background(), TokenRequest{
		Client:       ClientAuth{ClientID: c.ID, ClientSecret: "secret"},
		GrantType:    grantd.GrantRefreshToken,
		RefreshToken: rt,
		Scope:        scope,
	})
}

func (e *flowEnv) mustRefresh(t *testing.T, c grantd.Client, rt string) TokenResponse {
	t.Helper()
	resp, err := e.refresh(c, rt, "")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return resp
}

// claims answers the verified claims of an access token.
func (e *flowEnv) claims(t *testing.T, at string) token.AccessClaims {
	t.Helper()
	c, err := e.keys.Verify(t.Context(), at)
	if err != nil {
		t.Fatalf("verify access token: %v", err)
	}
	return c
}

// wantLive checks that refresh tokens are live and access tokens not
// revoked (live true), or the reverse.
func (e *flowEnv) wantLive(t *testing.T, live bool, tokens ...TokenResponse) {
	t.Helper()
	ctx := context.Background()
	for i, tok := range tokens {
		_, err := e.st.GetRefreshToken(ctx, token.Hash(tok.RefreshToken))
		if gotLive := err == nil; gotLive != live {
			t.Errorf("refresh token %d live = %v (%v), want %v", i, gotLive, err, live)
		}
		revoked, err := e.st.IsJTIRevoked(ctx, e.claims(t, tok.AccessToken).JTI)
		if err != nil {
			t.Fatal(err)
		}
		if revoked == live {
			t.Errorf("access token %d revoked = %v, want %v", i, revoked, !live)
		}
	}
}

func wantInvalidGrant(t *testing.T, err error, what string) {
	t.Helper()
	if grantd.ErrorCode(err) != grantd.CodeInvalidGrant {
		t.Errorf("%s: err = %v, want invalid_grant", what, err)
	}
}

// TestRefreshRetryAfterLostAnswer is the attack of issue 7, item 5: a
// refresh rotation commits but its answer is lost (the server was killed
// before it wrote it), and the client retries with the token it still
// has. Within grace, the same client gets the very answer it lost (same
// refresh token, same access token), nothing is revoked, and the
// successor goes on working. Every other presentation of the rotated
// token is reuse, which revokes the grant's tokens: from another client,
// after grace, after the successor was used, for other scopes, and with
// grace off. On SQLite and PostgreSQL.
func TestRefreshRetryAfterLostAnswer(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st, _ := b.Open(t)
			e := newFlowEnvOn(t, st, func(c *Config) { c.RefreshGrace = testGrace })
			c := e.client(t)
			other := e.client(t)
			t.Run("same client within grace", func(t *testing.T) {
				alice := e.user(t, "alice@example.com")
				t0 := e.codeTokens(t, alice, c)
				issued := e.clock.Now()
				lost := e.mustRefresh(t, c, t0.RefreshToken)
				for _, d := range []time.Duration{time.Second, 2 * time.Second, 2 * time.Second} {
					e.clock.Advance(d)
					retry := e.mustRefresh(t, c, t0.RefreshToken)
					if retry.RefreshToken != lost.RefreshToken {
						t.Errorf("the retry got refresh token %q, want the lost one %q", retry.RefreshToken, lost.RefreshToken)
					}
					if got, want := e.claims(t, retry.AccessToken), e.claims(t, lost.AccessToken); got != want {
						t.Errorf("the retry's access token has claims %+v, want the lost one's %+v", got, want)
					}
					if retry.Scope != lost.Scope {
						t.Errorf("the retry's scope = %q, want %q", retry.Scope, lost.Scope)
					}
					if left := lost.ExpiresIn - int64(e.clock.Now().Sub(issued)/time.Second); retry.ExpiresIn != left {
						t.Errorf("the retry's expires_in = %d, want what is left, %d", retry.ExpiresIn, left)
					}
				}
				e.wantLive(t, true, t0, lost)
				// The successor works; its own successor is a new token.
				next := e.mustRefresh(t, c, lost.RefreshToken)
				if next.RefreshToken == lost.RefreshToken {
					t.Error("rotating the successor answered it again")
				}
				e.wantLive(t, true, t0, lost, next)
			})

			t.Run("another client", func(t *testing.T) {
				bob := e.user(t, "bob@example.com")
				t0 := e.codeTokens(t, bob, c)
				lost := e.mustRefresh(t, c, t0.RefreshToken)
				e.clock.Advance(time.Second)
				_, err := e.refresh(other, t0.RefreshToken, "")
				wantInvalidGrant(t, err, "retry by another client")
				// A rotated token in another client's hands leaked: reuse.
				e.wantLive(t, false, t0, lost)
				_, err = e.refresh(c, lost.RefreshToken, "")
				wantInvalidGrant(t, err, "the successor after reuse")
			})

			t.Run("after grace", func(t *testing.T) {
				carol := e.user(t, "carol@example.com")
				t0 := e.codeTokens(t, carol, c)
				lost := e.mustRefresh(t, c, t0.RefreshToken)
				e.clock.Advance(testGrace + time.Second)
				_, err := e.refresh(c, t0.RefreshToken, "")
				wantInvalidGrant(t, err, "retry after grace")
				e.wantLive(t, false, t0, lost)
			})

			t.Run("after the successor was used", func(t *testing.T) {
				dave := e.user(t, "dave@example.com")
				t0 := e.codeTokens(t, dave, c)
				t1 := e.mustRefresh(t, c, t0.RefreshToken)
				t2 := e.mustRefresh(t, c, t1.RefreshToken)
				// The client had t1, so t0 again is no retry.
				_, err := e.refresh(c, t0.RefreshToken, "")
				wantInvalidGrant(t, err, "t0 after t1 was used")
				e.wantLive(t, false, t0, t1, t2)
			})

			t.Run("other scopes", func(t *testing.T) {
				erin := e.user(t, "erin@example.com")
				t0 := e.codeTokens(t, erin, c)
				lost := e.mustRefresh(t, c, t0.RefreshToken)
				// A scope beyond the grant is refused as on any refresh,
				// and revokes nothing.
				_, err := e.refresh(c, t0.RefreshToken, "billing")
				if grantd.ErrorCode(err) != grantd.CodeInvalidScope {
					t.Errorf("retry for a scope beyond the grant: err = %v, want invalid_scope", err)
				}
				e.wantLive(t, true, t0, lost)
				// A narrower one is another request than the lost one.
				_, err = e.refresh(c, t0.RefreshToken, "read")
				wantInvalidGrant(t, err, "retry for other scopes")
				e.wantLive(t, false, t0, lost)
			})

			t.Run("concurrent retries", func(t *testing.T) {
				frank := e.user(t, "frank@example.com")
				t0 := e.codeTokens(t, frank, c)
				const n = 20
				answers := make([]TokenResponse, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { answers[i], errs[i] = e.refresh(c, t0.RefreshToken, "") })
				}
				wg.Wait()
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("refresh %d: %v", i, errs[i])
					}
					if answers[i].RefreshToken != answers[0].RefreshToken || e.claims(t, answers[i].AccessToken).JTI != e.claims(t, answers[0].AccessToken).JTI {
						t.Errorf("refresh %d got other tokens than refresh 0", i)
					}
				}
				e.wantLive(t, true, t0, answers[0])
			})

			t.Run("grace off", func(t *testing.T) {
				off := newFlowEnvOn(t, st)
				c := off.client(t)
				t0 := off.codeTokens(t, off.user(t, "gina@example.com"), c)
				lost := off.mustRefresh(t, c, t0.RefreshToken)
				_, err := off.refresh(c, t0.RefreshToken, "")
				wantInvalidGrant(t, err, "retry without grace")
				off.wantLive(t, false, t0, lost)
			})
		})
	}
}
