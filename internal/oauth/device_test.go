package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// deviceClient is a confidential client that may use the device grant
// and refresh tokens.
func (e *flowEnv) deviceClient(t *testing.T) grantd.Client {
	t.Helper()
	return e.client(t, func(c *grantd.Client) {
		c.GrantTypes = []string{grantd.GrantDeviceCode, grantd.GrantRefreshToken}
		c.RedirectURIs = nil
	})
}

func deviceAuth(c grantd.Client) ClientAuth {
	return ClientAuth{ClientID: c.ID, ClientSecret: "secret"}
}

func (e *flowEnv) poll(c grantd.Client, deviceCode string) (TokenResponse, error) {
	return e.p.Token(context.Background(), TokenRequest{Client: deviceAuth(c), GrantType: grantd.GrantDeviceCode, DeviceCode: deviceCode})
}

func wantCode(t *testing.T, err error, code grantd.Code) {
	t.Helper()
	if got := grantd.ErrorCode(err); got != code {
		t.Fatalf("err = %v (%s), want %s", err, got, code)
	}
}

// approve enters the user code as userID and decides at the consent.
func (e *flowEnv) approve(t *testing.T, userID, userCode string, allowed bool) string {
	t.Helper()
	ctx := context.Background()
	uri, err := e.p.DeviceConsent(ctx, userID, userCode)
	if err != nil {
		t.Fatalf("DeviceConsent: %v", err)
	}
	tok := consentToken(t, e, uri)
	cv, err := e.p.ConsentDetails(ctx, userID, tok)
	if err != nil || !cv.Device || cv.RedirectURI != "" || cv.Name != "Acme Dialer" {
		t.Fatalf("ConsentDetails = %+v, %v", cv, err)
	}
	next, err := e.p.Decide(ctx, userID, tok, allowed)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return next
}

func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.deviceClient(t)

	da, err := e.p.DeviceAuthorization(ctx, DeviceAuthRequest{Client: deviceAuth(c), Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(da.DeviceCode, token.PrefixDeviceCode) || da.ExpiresIn != 600 || da.Interval != 5 ||
		da.VerificationURI != flowIssuer+"/device" ||
		da.VerificationURIComplete != flowIssuer+"/device?user_code="+url.QueryEscape(da.UserCode) {
		t.Fatalf("device authorization = %+v", da)
	}
	if len(da.UserCode) != 9 || da.UserCode[4] != '-' {
		t.Fatalf("user code %q is not XXXX-XXXX", da.UserCode)
	}
	for _, r := range strings.ReplaceAll(da.UserCode, "-", "") {
		if !strings.ContainsRune(UserCodeAlphabet, r) {
			t.Fatalf("user code %q has %q outside the alphabet", da.UserCode, r)
		}
	}

	// Before the person decides: pending; sooner than the interval: slow
	// down, and the interval grows by 5 s.
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeAuthorizationPending)
	e.clock.Advance(time.Second)
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeSlowDown)
	e.clock.Advance(6 * time.Second) // 6 s < the new 10 s
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeSlowDown)
	e.clock.Advance(16 * time.Second)
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeAuthorizationPending)

	// Another client's poll with the code learns nothing and changes nothing.
	other := e.deviceClient(t)
	_, err = e.poll(other, da.DeviceCode)
	wantCode(t, err, grantd.CodeInvalidGrant)

	// The person enters the code in lower case without the dash, and allows.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " "))
	if next := e.approve(t, alice, typed, true); next != flowIssuer+"/device?result=approved" {
		t.Fatalf("after approval: %s", next)
	}
	// The code cannot be entered again.
	if _, err := e.p.DeviceConsent(ctx, alice, da.UserCode); !IsBadUserCode(err) {
		t.Fatalf("second entry: %v", err)
	}

	e.clock.Advance(20 * time.Second)
	resp, err := e.poll(c, da.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	if resp.AccessToken == "" || resp.Scope != "read" || !strings.HasPrefix(resp.RefreshToken, token.PrefixRefreshToken) {
		t.Fatalf("token = %+v", resp)
	}
	// Under the person's grant, like the code flow.
	g, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil || len(g.Scopes) != 1 || g.Scopes[0] != "read" || g.LastUsedAt == nil {
		t.Fatalf("grant = %+v, %v", g, err)
	}
	// The refresh token works.
	if _, err := e.p.Token(ctx, TokenRequest{Client: deviceAuth(c), GrantType: grantd.GrantRefreshToken, RefreshToken: resp.RefreshToken}); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	// Single use.
	e.clock.Advance(20 * time.Second)
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeInvalidGrant)
}

func TestDeviceDenied(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	c := e.deviceClient(t)
	da, err := e.p.DeviceAuthorization(context.Background(), DeviceAuthRequest{Client: deviceAuth(c)})
	if err != nil {
		t.Fatal(err)
	}
	if next := e.approve(t, alice, da.UserCode, false); next != flowIssuer+"/device?result=denied" {
		t.Fatalf("after denial: %s", next)
	}
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeAccessDenied)
	if _, err := e.st.GetGrantByUserClient(context.Background(), alice, c.ID); err == nil {
		t.Fatal("a denial made a grant")
	}
}

func TestDeviceExpiry(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	c := e.deviceClient(t)
	da, err := e.p.DeviceAuthorization(context.Background(), DeviceAuthRequest{Client: deviceAuth(c)})
	if err != nil {
		t.Fatal(err)
	}
	// A consent started before expiry cannot approve after it.
	uri, err := e.p.DeviceConsent(context.Background(), alice, da.UserCode)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if _, err := e.p.Decide(context.Background(), alice, consentToken(t, e, uri), true); err == nil {
		t.Fatal("an expired device authorization was approved")
	}
	_, err = e.poll(c, da.DeviceCode)
	wantCode(t, err, grantd.CodeExpiredToken)
	if _, err := e.p.DeviceConsent(context.Background(), alice, da.UserCode); !IsBadUserCode(err) {
		t.Fatalf("expired user code: %v", err)
	}
}

func TestDeviceAuthorizationRefusals(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	codeOnly := e.client(t)
	if _, err := e.p.DeviceAuthorization(ctx, DeviceAuthRequest{Client: deviceAuth(codeOnly)}); grantd.ErrorCode(err) != grantd.CodeUnauthorizedClient {
		t.Fatalf("client without the grant: %v", err)
	}
	c := e.deviceClient(t)
	if _, err := e.p.DeviceAuthorization(ctx, DeviceAuthRequest{Client: ClientAuth{ClientID: c.ID, ClientSecret: "wrong"}}); grantd.ErrorCode(err) != grantd.CodeInvalidClient {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := e.p.DeviceAuthorization(ctx, DeviceAuthRequest{Client: deviceAuth(c), Scope: "admin"}); grantd.ErrorCode(err) != grantd.CodeInvalidScope {
		t.Fatalf("scope beyond the client's: %v", err)
	}
	if _, err := e.p.DeviceAuthorization(ctx, DeviceAuthRequest{Client: deviceAuth(c), Resources: []string{"https://elsewhere.example"}}); grantd.ErrorCode(err) != grantd.CodeInvalidTarget {
		t.Fatalf("unknown resource: %v", err)
	}
	_, err := e.poll(codeOnly, "grantd_device_x")
	wantCode(t, err, grantd.CodeUnauthorizedClient)
	_, err = e.poll(c, "")
	wantCode(t, err, grantd.CodeInvalidRequest)
	_, err = e.poll(c, "grantd_device_nosuchcode")
	wantCode(t, err, grantd.CodeInvalidGrant)
	for _, bad := range []string{"", "BCDF", "AAAA-AAAA", "BCDF-GHJK-L", strings.Repeat("B", 100)} {
		if _, err := e.p.DeviceConsent(ctx, "someone", bad); !IsBadUserCode(err) {
			t.Errorf("DeviceConsent(%q) = %v", bad, err)
		}
	}
}

func TestNormalizeUserCode(t *testing.T) {
	for in, want := range map[string]string{"WDJB-MJHT": "WDJBMJHT", "wdjbmjht": "WDJBMJHT", " wdjb mjht ": "WDJBMJHT", "WdJb-MjHt": "WDJBMJHT"} {
		if got, ok := NormalizeUserCode(in); !ok || got != want {
			t.Errorf("NormalizeUserCode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"WDJB-MJH", "WDJB-MJHA", "WDJB_MJHT", "ВDJB-MJHT"} {
		if _, ok := NormalizeUserCode(in); ok {
			t.Errorf("NormalizeUserCode(%q) accepted", in)
		}
	}
}
