package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// wantBadConsent checks for the 422 naming /consent_token.
func wantBadConsent(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("err = nil, want a 422 for the consent token")
	}
	e := grantd.AsError(err)
	if e.Code != grantd.CodeValidation || len(e.Fields) != 1 || e.Fields[0].Pointer != "/consent_token" || e.Description != e.Fields[0].Detail {
		t.Fatalf("err = %#v, want validation_failed at /consent_token", e)
	}
}

func TestConsentDetails(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	c := e.client(t, func(c *grantd.Client) {
		c.Verified = true
		c.TosURI = "https://app.example/tos"
		c.PolicyURI = "https://app.example/privacy"
	})
	res := mustAuthorize(t, e, alice, authzQuery(c, "scope", "write read", "redirect_uri", "http://127.0.0.1:9999/cb"))
	got, err := e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect))
	if err != nil {
		t.Fatal(err)
	}
	want := ConsentView{
		ClientID: c.ID, Name: "Acme Dialer", LogoURI: "https://app.example/logo.png",
		TosURI: "https://app.example/tos", PolicyURI: "https://app.example/privacy",
		RedirectURI: "http://127.0.0.1:9999/cb", Verified: true,
		RequestedScopes: []grantd.Scope{flowScopes[2], flowScopes[1]},
	}
	if got.ClientID != want.ClientID || got.Name != want.Name || got.LogoURI != want.LogoURI || got.TosURI != want.TosURI ||
		got.PolicyURI != want.PolicyURI || got.RedirectURI != want.RedirectURI || got.Verified != want.Verified ||
		len(got.RequestedScopes) != 2 || got.RequestedScopes[0] != want.RequestedScopes[0] || got.RequestedScopes[1] != want.RequestedScopes[1] {
		t.Errorf("ConsentDetails =\n%+v\nwant\n%+v", got, want)
	}
	// Reading the details does not use the token up.
	if _, err := e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect)); err != nil {
		t.Errorf("second read: %v", err)
	}
}

// A client registered without client_name is shown by its client_id, so
// that the page never asks "allow  to use your account?".
func TestConsentDetailsUnnamedClient(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	c := e.client(t, func(c *grantd.Client) { c.Name = "" })
	res := mustAuthorize(t, e, alice, authzQuery(c, "redirect_uri", "http://127.0.0.1:9999/cb"))
	got, err := e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.ID {
		t.Fatalf("Name = %q, want the client_id %q", got.Name, c.ID)
	}
}

func TestConsentTokenRefused(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")
	c := e.client(t)
	// prompt=consent: once alice approves, she would otherwise get a code.
	newToken := func(t *testing.T) string {
		return consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(c, "prompt", "consent")).Redirect)
	}

	t.Run("malformed", func(t *testing.T) {
		for _, tok := range []string{"", "garbage", token.PrefixConsentToken, token.PrefixConsentToken + "nosuchtoken",
			token.PrefixAuthCode + "abc", strings.Repeat("x", 10000), token.PrefixConsentToken + strings.Repeat("x", 200)} {
			_, err := e.p.ConsentDetails(ctx, alice, tok)
			wantBadConsent(t, err)
			_, err = e.p.Decide(ctx, alice, tok, true)
			wantBadConsent(t, err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		tok := newToken(t)
		_, err := e.p.ConsentDetails(ctx, bob, tok)
		wantBadConsent(t, err)
		_, err = e.p.Decide(ctx, bob, tok, true)
		wantBadConsent(t, err)
		_, err = e.p.Decide(ctx, bob, tok, false)
		wantBadConsent(t, err)
		// Bob's attempts did not spend alice's token.
		if _, err := e.p.Decide(ctx, alice, tok, true); err != nil {
			t.Errorf("alice's decision after bob's attempts: %v", err)
		}
		if _, err := e.st.GetGrantByUserClient(ctx, bob, c.ID); err == nil {
			t.Error("bob got a grant")
		}
	})
	t.Run("used twice", func(t *testing.T) {
		for _, first := range []bool{true, false} {
			tok := newToken(t)
			if _, err := e.p.Decide(ctx, alice, tok, first); err != nil {
				t.Fatal(err)
			}
			for _, second := range []bool{true, false} {
				_, err := e.p.Decide(ctx, alice, tok, second)
				wantBadConsent(t, err)
			}
			_, err := e.p.ConsentDetails(ctx, alice, tok)
			wantBadConsent(t, err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tok := newToken(t)
		e.clock.Advance(10*time.Minute - time.Second)
		if _, err := e.p.ConsentDetails(ctx, alice, tok); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		e.clock.Advance(time.Second)
		_, err := e.p.ConsentDetails(ctx, alice, tok)
		wantBadConsent(t, err)
		_, err = e.p.Decide(ctx, alice, tok, true)
		wantBadConsent(t, err)
	})
	t.Run("client deleted", func(t *testing.T) {
		gone := e.client(t)
		tok := consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(gone)).Redirect)
		if err := e.st.DeleteClient(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		_, err := e.p.Decide(ctx, alice, tok, true)
		wantBadConsent(t, err)
	})
	t.Run("redirect URI no longer registered", func(t *testing.T) {
		moved := e.client(t)
		tok := consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(moved)).Redirect)
		if _, err := e.st.UpdateClient(ctx, moved.ID, func(c grantd.Client) (grantd.Client, error) {
			c.RedirectURIs = []string{"https://app.example/new"}
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
		_, err := e.p.Decide(ctx, alice, tok, true)
		wantBadConsent(t, err)
	})
}

func TestDecideAllow(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)

	to := approve(t, e, alice, authzQuery(c, "scope", "read"))
	a := answerParams(t, to, "https://app.example/cb")
	if !strings.HasPrefix(a.Get("code"), token.PrefixAuthCode) || a.Get("state") != "st-123" || a.Get("iss") != flowIssuer || a.Has("error") {
		t.Errorf("answer = %v, want code, state and iss", a)
	}
	g, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(g.Scopes, " ") != "read" || g.LastUsedAt != nil || !g.CreatedAt.Equal(e.clock.Now().Truncate(time.Second)) {
		t.Errorf("grant = %+v", g)
	}

	// Approving again, for more, widens the one grant.
	e.clock.Advance(time.Minute)
	approve(t, e, alice, authzQuery(c, "scope", "write", "prompt", "consent"))
	approve(t, e, alice, authzQuery(c, "scope", "read", "prompt", "consent"))
	gs, total, err := e.p.ListGrants(ctx, alice, grantd.Page{Number: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(gs) != 1 {
		t.Fatalf("grants = %d (%+v), want one", total, gs)
	}
	if gs[0].ID != g.ID || strings.Join(gs[0].Scopes, " ") != "read write" || !gs[0].CreatedAt.Equal(g.CreatedAt) {
		t.Errorf("grant after widening = %+v, was %+v", gs[0], g)
	}

	// The code carries the scopes of its own request, not the grant's.
	to = approve(t, e, alice, authzQuery(c, "scope", "write", "prompt", "consent"))
	var code grantd.AuthCode
	if _, err := RedeemAuthCode(ctx, e.st, token.Hash(answerParams(t, to, "https://app.example/cb").Get("code")), e.clock.Now(),
		func(ac grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
			code = ac
			return ac, nil, nil
		}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(code.Scopes, " ") != "write" || code.GrantID != g.ID {
		t.Errorf("code = %+v", code)
	}
}

func TestDecideDeny(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	res := mustAuthorize(t, e, alice, authzQuery(c, "state", "xyz/+="))
	to, err := e.p.Decide(ctx, alice, consentToken(t, e, res.Redirect), false)
	if err != nil {
		t.Fatal(err)
	}
	a := answerParams(t, to, "https://app.example/cb")
	if a.Get("error") != "access_denied" || a.Get("state") != "xyz/+=" || a.Get("iss") != flowIssuer || a.Has("code") {
		t.Errorf("answer = %v, want access_denied with state and iss", a)
	}
	if _, err := e.st.GetGrantByUserClient(ctx, alice, c.ID); err == nil {
		t.Error("denying created a grant")
	}
}

func TestDecideClientChangedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	tok := consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(c, "scope", "read write")).Redirect)
	if _, err := e.st.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Scopes = []string{"read"}
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	to, err := e.p.Decide(ctx, alice, tok, true)
	if err != nil {
		t.Fatal(err)
	}
	if a := answerParams(t, to, "https://app.example/cb"); a.Get("error") != "invalid_scope" || a.Has("code") {
		t.Errorf("answer = %v, want invalid_scope", a)
	}
	if _, err := e.st.GetGrantByUserClient(ctx, alice, c.ID); err == nil {
		t.Error("a grant was made for scopes the client no longer has")
	}
}

// crashSQL makes the database fail every write of one kind to a table,
// the way a crash or a database error at that statement would: trigger
// name on table for op (INSERT or UPDATE). Its undo drops it.
func crashSQL(backend, name, op, table string) (crash, undo string) {
	if backend == "sqlite" {
		return fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`, name, op, table),
			fmt.Sprintf(`DROP TRIGGER %s`, name)
	}
	return fmt.Sprintf(`CREATE OR REPLACE FUNCTION simulated_crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$;
		CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION simulated_crash()`, name, op, table),
		fmt.Sprintf(`DROP TRIGGER %s ON %s`, name, table)
}

// TestDecideCrashLeavesNothingHalfDone is issue 7, item 5's second half:
// a decision that fails part way (storing the code, creating or widening
// the grant) must not leave a used consent behind with a grant and no
// code. The failure is a trigger that makes the database refuse that very
// write, inside the decision's transaction. Afterwards the consent is
// unused, there is no new grant and no widened one, and the user's next
// try succeeds. On SQLite and PostgreSQL.
func TestDecideCrashLeavesNothingHalfDone(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st, exec := b.Open(t)
			e := newFlowEnvOn(t, st)
			ctx := context.Background()
			c := e.client(t)

			for _, tc := range []struct {
				name, op, table string
				widen           bool
			}{
				{"code of a new grant", "INSERT", "auth_codes", false},
				{"new grant", "INSERT", "grants", false},
				{"code of a widened grant", "INSERT", "auth_codes", true},
				{"widened grant", "UPDATE", "grants", true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					user := e.user(t, strings.ReplaceAll(tc.name, " ", ".")+"@example.com")
					var before *grantd.Grant
					if tc.widen {
						approve(t, e, user, authzQuery(c, "scope", "read"))
						g, err := e.st.GetGrantByUserClient(ctx, user, c.ID)
						if err != nil {
							t.Fatal(err)
						}
						before = &g
					}
					tok := consentToken(t, e, mustAuthorize(t, e, user, authzQuery(c, "scope", "read write", "prompt", "consent")).Redirect)

					crash, undo := crashSQL(b.Name, "crash_"+strings.ReplaceAll(tc.name, " ", "_"), tc.op, tc.table)
					exec(crash)
					to, err := e.p.Decide(ctx, user, tok, true)
					exec(undo)
					if err == nil {
						t.Fatalf("Decide through a crash answered %q, want an error", to)
					}
					if grantd.ErrorCode(err) != grantd.CodeServerError {
						t.Errorf("Decide through a crash: err = %v, want an internal error", err)
					}

					cs, err := e.st.GetConsent(ctx, token.Hash(tok))
					if err != nil {
						t.Fatal(err)
					}
					if cs.UsedAt != nil {
						t.Error("the crash left the consent used")
					}
					g, err := e.st.GetGrantByUserClient(ctx, user, c.ID)
					switch {
					case before == nil && !errors.Is(err, grantd.ErrNotFound):
						t.Errorf("the crash left a grant (%+v, %v)", g, err)
					case before != nil && (err != nil || strings.Join(g.Scopes, " ") != "read"):
						t.Errorf("the crash left the grant %+v (%v), want it unchanged (read)", g, err)
					}

					// The user tries again, and it holds.
					to, err = e.p.Decide(ctx, user, tok, true)
					if err != nil {
						t.Fatalf("Decide after the crash: %v", err)
					}
					if a := answerParams(t, to, "https://app.example/cb"); !strings.HasPrefix(a.Get("code"), token.PrefixAuthCode) {
						t.Errorf("answer after the crash = %v, want a code", a)
					}
					g, err = e.st.GetGrantByUserClient(ctx, user, c.ID)
					if err != nil || strings.Join(g.Scopes, " ") != "read write" {
						t.Errorf("grant after the retry = %+v (%v), want read write", g, err)
					}
				})
			}
		})
	}
}

// TestConsentDetailsStepUp asks for more than the user's grant holds: the
// view names what the grant holds already, and only the user's own grant
// for this client counts (another user's grant does not leak into it).
func TestConsentDetailsStepUp(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")
	c := e.client(t)
	approve(t, e, alice, authzQuery(c, "scope", "read", "prompt", "consent"))

	got, err := e.p.ConsentDetails(ctx, alice, consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(c, "scope", "read write", "prompt", "consent")).Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GrantedScopes) != 1 || got.GrantedScopes[0] != flowScopes[1] {
		t.Errorf("GrantedScopes = %+v, want only %+v", got.GrantedScopes, flowScopes[1])
	}
	if got.Origin != grantd.OriginAPI || len(got.RedirectURIs) != len(c.RedirectURIs) {
		t.Errorf("Origin %q, RedirectURIs %q; want api and %q", got.Origin, got.RedirectURIs, c.RedirectURIs)
	}

	other, err := e.p.ConsentDetails(ctx, bob, consentToken(t, e, mustAuthorize(t, e, bob, authzQuery(c, "scope", "read write", "prompt", "consent")).Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if len(other.GrantedScopes) != 0 {
		t.Errorf("bob's view shows alice's grant: %+v", other.GrantedScopes)
	}
}
