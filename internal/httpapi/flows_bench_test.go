package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The benchmarks of the other hot paths, through the whole handler on the
// real SQLite store, as BenchmarkClientCredentials does; docs/PERFORMANCE.md
// records their numbers.

// unchecked serves without the test harness's check of every exchange
// against the OpenAPI document, which would cost more than the request:
// the benchmarks measure the server.
func unchecked(o *testOptions) { o.NoOpenAPICheck = true }

// formRequest answers a prepared POST of body to path whose body rewinds
// for the next use.
func formRequest(path, body, user, password string) (*http.Request, func()) {
	b := []byte(body)
	rd := bytes.NewReader(b)
	r := httptest.NewRequest(http.MethodPost, path, io.NopCloser(rd))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		r.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	return r, func() { rd.Reset(b) }
}

func serveOK(b *testing.B, env *testEnv, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	env.Server.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec
}

// BenchmarkIntrospect: a resource server (a confidential client)
// introspects the same live access token again and again.
func BenchmarkIntrospect(b *testing.B) {
	env := newTestEnv(b, withIssuer(goldenIssuer), unchecked)
	owner := env.createUser(b, "owner@example.com")
	c, secret := env.createClient(b, owner, clientSpec{Scopes: []string{"read", "write"}})
	rs, rsSecret := env.createClient(b, owner, clientSpec{Scopes: []string{"read"}})
	tok := tokenOK(b, env.postForm(b, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, c.ID, secret))
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	check := func(rec *httptest.ResponseRecorder) {
		if !bytes.Contains(rec.Body.Bytes(), []byte(`"active":true`)) {
			b.Fatalf("inactive: %s", rec.Body)
		}
	}
	b.Run("serial", func(b *testing.B) {
		r, rewind := formRequest("/v2/oauth/introspect", body, rs.ID, rsSecret)
		b.ReportAllocs()
		for b.Loop() {
			rewind()
			check(serveOK(b, env, r))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, rewind := formRequest("/v2/oauth/introspect", body, rs.ID, rsSecret)
			for pb.Next() {
				rewind()
				check(serveOK(b, env, r))
			}
		})
	})
}

// BenchmarkCodeRedeem: a public client redeems an authorization code with
// PKCE (the code is stored beforehand, outside the timer... as far as
// b.Loop allows: minting a code is one insert, and is included).
func BenchmarkCodeRedeem(b *testing.B) {
	env := newTestEnv(b, withIssuer(goldenIssuer), unchecked)
	f := newCodeFlow(b, env, clientSpec{})
	b.ReportAllocs()
	for b.Loop() {
		tokenOK(b, f.redeem(b, f.code(b)))
	}
}

// BenchmarkRefresh: a public client rotates its refresh token, each
// request with the token the one before answered.
func BenchmarkRefresh(b *testing.B) {
	env := newTestEnv(b, withIssuer(goldenIssuer), unchecked)
	f := newCodeFlow(b, env, clientSpec{})
	first := func() string { return tokenOK(b, f.redeem(b, f.code(b))).RefreshToken }
	var next struct {
		RefreshToken string `json:"refresh_token"`
	}
	rotate := func(rt string) string {
		r, _ := formRequest("/v2/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.client.ID}}.Encode(), "", "")
		rec := serveOK(b, env, r)
		next.RefreshToken = ""
		if err := json.Unmarshal(rec.Body.Bytes(), &next); err != nil || next.RefreshToken == "" {
			b.Fatalf("no refresh token: %s", rec.Body)
		}
		return next.RefreshToken
	}
	b.Run("serial", func(b *testing.B) {
		rt := first()
		b.ReportAllocs()
		for b.Loop() {
			rt = rotate(rt)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rt := first()
			for pb.Next() {
				r, _ := formRequest("/v2/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.client.ID}}.Encode(), "", "")
				rec := serveOK(b, env, r)
				var v struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.RefreshToken == "" {
					b.Fatalf("no refresh token: %s", rec.Body)
				}
				rt = v.RefreshToken
			}
		})
	})
}

// BenchmarkJWKS: a resource server fetches the key set.
func BenchmarkJWKS(b *testing.B) {
	env := newTestEnv(b, withIssuer(goldenIssuer), unchecked)
	r := httptest.NewRequest(http.MethodGet, "/v2/oauth/jwks", nil)
	b.ReportAllocs()
	for b.Loop() {
		serveOK(b, env, r)
	}
}
