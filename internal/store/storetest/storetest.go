// Package storetest is the conformance suite of grantd.Store: every
// backend runs the very same tests, so that the SQLite and PostgreSQL
// stores cannot drift apart. It tests what the Store interface documents,
// nothing of a backend's inner workings.
//
// The unit of work (Store.InGrant) is tested twice: for its mechanics
// alone, and under the engine's rules for codes, refresh tokens and
// consents (oauth.RedeemAuthCode, RotateRefreshToken, DecideConsent),
// whose guarantees (one winner of 50, what reuse revokes, the grace
// window) hold only if the backend locks and commits as InGrant says.
//
// The suite uses a fixed clock (times are passed in, never read) and
// microsecond precision, the finest every backend keeps.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// RunTests runs the suite. newStore answers a new, empty, migrated store
// for one test and arranges its cleanup (t.Cleanup); it is called once per
// subtest.
func RunTests(t *testing.T, newStore func(t *testing.T) grantd.Store) {
	tests := []struct {
		name string
		run  func(e env)
	}{
		{"Ping", testPing},
		{"Users", testUsers},
		{"UserUpdates", testUserUpdates},
		{"APIKeys", testAPIKeys},
		{"Clients", testClients},
		{"ClientUpdates", testClientUpdates},
		{"ListClients", testListClients},
		{"DeleteClientCascades", testDeleteClientCascades},
		{"ClientProvenance", testClientProvenance},
		{"ClientOrigin", testClientOrigin},
		{"DeleteUnusedRegistrations", testDeleteUnusedRegistrations},
		{"DeleteGrantDeletesClientsMade", testDeleteGrantDeletesClientsMade},
		{"DeleteClientDeletesClientsMade", testDeleteClientDeletesClientsMade},
		{"Grants", testGrants},
		{"ListGrants", testListGrants},
		{"DeleteGrant", testDeleteGrant},
		{"TouchEvery", testTouchEvery},
		{"ExchangedTokens", testExchangedTokens},
		{"Consents", testConsents},
		{"DeviceCodes", testDeviceCodes},
		{"RaceRedeemDeviceCode", testRaceRedeemDeviceCode},
		{"AuthCodes", testAuthCodes},
		{"AuthCodeSecondUse", testAuthCodeSecondUse},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshReuse", testRefreshReuse},
		{"RefreshRetry", testRefreshRetry},
		{"RefreshRetryRefused", testRefreshRetryRefused},
		{"AnswersAsStored", testAnswersAsStored},
		{"RevokeRefreshToken", testRevokeRefreshToken},
		{"RevokedJTIs", testRevokedJTIs},
		{"Sessions", testSessions},
		{"SigningKeys", testSigningKeys},
		{"DeleteExpired", testDeleteExpired},
		{"DeleteExpiredBatch", testDeleteExpiredBatch},
		{"DeleteExpiredManyBatches", testDeleteExpiredManyBatches},
		{"DecideConsent", testDecideConsent},
		{"DecideConsentFailsWhole", testDecideConsentFailsWhole},
		{"RaceDecideConsent", testRaceDecideConsent},
		{"RaceDecideConsentsOneGrant", testRaceDecideConsentsOneGrant},
		{"RaceRedeemAuthCode", testRaceRedeemAuthCode},
		{"RaceRotateRefreshToken", testRaceRotateRefreshToken},
		{"RaceRetryRefreshToken", testRaceRetryRefreshToken},
		{"UnitOfWork", testUnitOfWork},
		{"RaceUnitOfWork", testRaceUnitOfWork},
		{"ConcurrentWriters", testConcurrentWriters},
		{"UnstorableKeys", testUnstorableKeys},
		{"Heartbeat", testHeartbeat},
		{"EndedContext", testEndedContext},
		{"LockWaitEndsWithContext", testLockWaitEndsWithContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(env{t: t, ctx: t.Context(), s: newStore(t)})
		})
	}
}

// env is what every test gets: its own store and helpers bound to t.
type env struct {
	t   *testing.T
	ctx context.Context
	s   grantd.Store
}

// testUnstorableKeys: a lookup by a key no row can have — a NUL byte,
// invalid UTF-8, which some databases cannot even compare — is not found,
// never a database error: such keys arrive straight from requests.
func testUnstorableKeys(e env) {
	for _, k := range []string{"a\x00b", "\xff\xfe", "\x00"} {
		_, err := e.s.GetClient(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetClient")
		_, err = e.s.GetUser(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetUser")
		_, err = e.s.GetUserByEmail(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetUserByEmail")
		_, err = e.s.GetAPIKeyByHash(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetAPIKeyByHash")
		_, err = e.s.GetGrant(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetGrant")
		_, err = e.s.GetConsent(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetConsent")
		_, err = e.s.GetRefreshToken(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetRefreshToken")
		_, err = e.s.GetDeviceCodeByUserCode(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetDeviceCodeByUserCode")
		_, err = e.s.GetSession(e.ctx, k)
		e.is(err, grantd.ErrNotFound, "GetSession")
		revoked, err := e.s.IsJTIRevoked(e.ctx, k)
		e.ok(err, "IsJTIRevoked")
		if revoked {
			e.t.Fatalf("IsJTIRevoked(%q) = true", k)
		}
	}
}

func testPing(e env) {
	e.ok(e.s.Ping(e.ctx), "ping")
}

// at answers the suite's clock: a fixed instant, with microseconds, plus d.
func at(d time.Duration) time.Time {
	return time.Date(2030, time.January, 2, 3, 4, 5, 123456000, time.UTC).Add(d)
}

func ptr[T any](v T) *T { return &v }

// Kinds of UUID the fixtures make, so that ids of different kinds differ.
const (
	kindOrg = iota + 1
	kindUser
	kindAPIKey
	kindGrant
)

// uuid answers a fixed, valid UUID (a backend may store ids as uuid).
func uuid(kind, n int) string { return fmt.Sprintf("%08d-0000-4000-8000-%012d", kind, n) }

// hash answers the hex SHA-256 of s, the shape of every stored secret.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

const (
	resource    = "https://api.example.com/"
	redirectURI = "https://app.example.com/callback"
)

// ok stops the test on an unexpected error.
func (e env) ok(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// is stops the test unless err is target (errors.Is).
func (e env) is(err, target error, what string) {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

// same stops the test unless err carries exactly want, the error an
// updater or issue function returned: callers errors.As it back.
func (e env) same(err error, want *grantd.Error, what string) {
	e.t.Helper()
	var got *grantd.Error
	if !errors.As(err, &got) || got != want {
		e.t.Fatalf("%s: err = %v, want the callback's own error %v", what, err, want)
	}
}

// equal compares two domain values after making nil and empty slices
// alike and times canonical, and checks that stored times come back in UTC.
func (e env) equal(what string, got, want any) {
	e.t.Helper()
	var n normalizer
	g := n.canon(got)
	var ignored normalizer
	w := ignored.canon(want)
	if len(n.nonUTC) > 0 {
		e.t.Errorf("%s: times not in UTC: %v", what, n.nonUTC)
	}
	if !reflect.DeepEqual(g, w) {
		e.t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// normalizer makes a deep copy of a value in which every time is the same
// instant in one canonical representation and every empty slice is nil.
type normalizer struct {
	nonUTC []string
}

func (n *normalizer) canon(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	n.walk(cp, rv.Type().String())
	return cp.Interface()
}

func (n *normalizer) walk(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			t := v.Interface().(time.Time)
			if t.Location() != time.UTC {
				n.nonUTC = append(n.nonUTC, path)
			}
			v.Set(reflect.ValueOf(time.UnixMicro(t.UnixMicro()).UTC()))
			return
		}
		for i := range v.NumField() {
			n.walk(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		cp := reflect.New(v.Type().Elem())
		cp.Elem().Set(v.Elem())
		n.walk(cp.Elem(), path)
		v.Set(cp)
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			n.walk(cp.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(cp)
	}
}

// Fixtures. Each creates a row with fixed values and answers it.

func newUser(n int) grantd.User {
	return grantd.User{
		ID:           uuid(kindUser, n),
		OrgID:        uuid(kindOrg, 1),
		Email:        fmt.Sprintf("user%d@example.com", n),
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		CreatedAt:    at(0),
		UpdatedAt:    at(0),
	}
}

func (e env) user(n int) grantd.User {
	e.t.Helper()
	u := newUser(n)
	e.ok(e.s.CreateUser(e.ctx, u), "create user")
	return u
}

func newClient(id string, owner grantd.User) grantd.Client {
	return grantd.Client{
		ID:                      id,
		Name:                    "Client " + id,
		OrgID:                   owner.OrgID,
		UserID:                  owner.ID,
		Type:                    grantd.ClientConfidential,
		GrantTypes:              []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		Scopes:                  []string{"admin", "messages:read"},
		RedirectURIs:            []string{redirectURI},
		SecretHash:              hash("secret-" + id),
		TokenEndpointAuthMethod: grantd.AuthMethodClientSecretBasic,
		ResponseTypes:           []string{"code"},
		Origin:                  grantd.OriginAPI,
		CreatedAt:               at(0),
		UpdatedAt:               at(0),
	}
}

func (e env) client(c grantd.Client) grantd.Client {
	e.t.Helper()
	e.ok(e.s.CreateClient(e.ctx, c), "create client")
	return c
}

func newGrant(n int, u grantd.User, c grantd.Client) grantd.Grant {
	return grantd.Grant{
		ID:        uuid(kindGrant, n),
		UserID:    u.ID,
		ClientID:  c.ID,
		Scopes:    []string{"admin"},
		CreatedAt: at(0),
		UpdatedAt: at(0),
	}
}

func (e env) grant(n int, u grantd.User, c grantd.Client) grantd.Grant {
	e.t.Helper()
	g := newGrant(n, u, c)
	e.ok(e.s.CreateGrant(e.ctx, g), "create grant")
	return g
}

func newConsent(name string, u grantd.User, c grantd.Client) grantd.Consent {
	return grantd.Consent{
		Hash:                hash("consent-" + name),
		UserID:              u.ID,
		ClientID:            c.ID,
		RedirectURI:         redirectURI,
		Scopes:              []string{"admin"},
		State:               "state-" + name,
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Resource:            resource,
		CreatedAt:           at(0),
		ExpiresAt:           at(10 * time.Minute),
	}
}

func (e env) consent(name string, u grantd.User, c grantd.Client) grantd.Consent {
	e.t.Helper()
	cs := newConsent(name, u, c)
	e.ok(e.s.CreateConsent(e.ctx, cs), "create consent")
	return cs
}

func newCode(name string, g grantd.Grant) grantd.AuthCode {
	return grantd.AuthCode{
		Hash:          hash("code-" + name),
		ClientID:      g.ClientID,
		UserID:        g.UserID,
		GrantID:       g.ID,
		RedirectURI:   redirectURI,
		Scopes:        g.Scopes,
		Resource:      resource,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CreatedAt:     at(0),
		ExpiresAt:     at(time.Minute),
	}
}

func (e env) code(name string, g grantd.Grant) grantd.AuthCode {
	e.t.Helper()
	c := newCode(name, g)
	e.ok(e.s.CreateAuthCode(e.ctx, c), "create auth code")
	return c
}

// newRefresh answers refresh token name of family, issued at now for the
// grant together with the access token "jti-"+name.
func newRefresh(name, family string, g grantd.Grant, now time.Time) grantd.RefreshToken {
	return grantd.RefreshToken{
		Hash:            hash("rt-" + name),
		FamilyID:        family,
		GrantID:         g.ID,
		ClientID:        g.ClientID,
		UserID:          g.UserID,
		Scopes:          g.Scopes,
		Resource:        resource,
		CreatedAt:       now,
		ExpiresAt:       now.Add(30 * 24 * time.Hour),
		AccessJTI:       "jti-" + name,
		AccessExpiresAt: now.Add(30 * time.Minute),
		AccessScopes:    g.Scopes,
	}
}

// issueFor answers an issue function for RedeemAuthCode that issues the
// access token "jti-"+name and, when withRefresh, the refresh token name as
// the first of family "fam-"+name, as the token endpoint does.
func issueFor(name string, g grantd.Grant, now time.Time, withRefresh bool) func(grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
	return func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		c.FamilyID = "fam-" + name
		c.AccessJTI = "jti-" + name
		c.AccessExpiresAt = ptr(now.Add(30 * time.Minute))
		if !withRefresh {
			return c, nil, nil
		}
		rt := newRefresh(name, c.FamilyID, g, now)
		return c, &rt, nil
	}
}

// redeem creates code name under g and redeems it at now (see issueFor).
func (e env) redeem(name string, g grantd.Grant, now time.Time, withRefresh bool) (grantd.AuthCode, *grantd.RefreshToken) {
	e.t.Helper()
	e.code(name, g)
	issue := issueFor(name, g, now, withRefresh)
	_, rt, _ := issue(newCode(name, g))
	c, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-"+name), now, issue)
	e.ok(err, "redeem auth code "+name)
	return c, rt
}

// successor answers the token that rotating old at now into name issues.
func successor(old grantd.RefreshToken, name string, now time.Time) grantd.RefreshToken {
	return grantd.RefreshToken{
		Hash:            hash("rt-" + name),
		FamilyID:        old.FamilyID,
		GrantID:         old.GrantID,
		ClientID:        old.ClientID,
		UserID:          old.UserID,
		Scopes:          old.Scopes,
		Resource:        old.Resource,
		CreatedAt:       now,
		ExpiresAt:       now.Add(30 * 24 * time.Hour),
		AccessJTI:       "jti-" + name,
		AccessExpiresAt: now.Add(30 * time.Minute),
		AccessScopes:    old.Scopes,
	}
}

// rotated answers old as rotating it at now into succ leaves it.
func rotated(old, succ grantd.RefreshToken, now time.Time) grantd.RefreshToken {
	old.RotatedAt = ptr(now)
	old.SuccessorHash = succ.Hash
	return old
}

// rotate rotates old at now into the token name, without grace.
func (e env) rotate(old grantd.RefreshToken, name string, now time.Time) grantd.RefreshToken {
	e.t.Helper()
	want := successor(old, name, now)
	got, err := oauth.RotateRefreshToken(e.ctx, e.s, old.Hash, now, 0, func(grantd.RefreshToken) (grantd.RefreshToken, error) {
		return want, nil
	}, nil)
	e.ok(err, "rotate refresh token into "+name)
	e.equal("rotated successor", got, want)
	return got
}

// revoked reports whether the access token jti is revoked.
func (e env) revoked(jti string) bool {
	e.t.Helper()
	r, err := e.s.IsJTIRevoked(e.ctx, jti)
	e.ok(err, "is jti revoked")
	return r
}

// wantRevoked checks the revocation state of access tokens.
func (e env) wantRevoked(want bool, jtis ...string) {
	e.t.Helper()
	for _, jti := range jtis {
		if got := e.revoked(jti); got != want {
			e.t.Errorf("IsJTIRevoked(%q) = %v, want %v", jti, got, want)
		}
	}
}

// wantRefresh checks that each refresh token is there (or gone).
func (e env) wantRefresh(present bool, tokens ...grantd.RefreshToken) {
	e.t.Helper()
	for _, rt := range tokens {
		_, err := e.s.GetRefreshToken(e.ctx, rt.Hash)
		switch {
		case present && err != nil:
			e.t.Errorf("GetRefreshToken(%s): %v, want the token", rt.AccessJTI, err)
		case !present && !errors.Is(err, grantd.ErrNotFound):
			e.t.Errorf("GetRefreshToken(%s): err = %v, want ErrNotFound", rt.AccessJTI, err)
		}
	}
}

// failing answers a fresh error for a callback to fail with; the suite
// checks that the store hands back this very value.
func failing(what string) *grantd.Error {
	return grantd.E(grantd.CodeInvalidGrant, "%s refused by the test", what)
}
