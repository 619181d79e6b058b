package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/cache"
	"github.com/grantd/grantd/internal/token"
)

// BenchmarkClientCredentials measures the hottest path, POST
// /v2/oauth/token with grant_type=client_credentials and HTTP Basic, from
// the handler (middleware included) through client authentication on the
// real SQLite store and signing, for each signing algorithm (ES256 is the
// default). docs/PERFORMANCE.md records the numbers.
func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []string{token.AlgES256, token.AlgEdDSA, token.AlgRS256} {
		b.Run(alg, func(b *testing.B) { benchmarkClientCredentials(b, alg) })
	}
}

// BenchmarkClientCredentialsCached is the ES256 case with the store
// behind the cache serve puts in front of it (internal/store/cache).
func BenchmarkClientCredentialsCached(b *testing.B) {
	benchmarkClientCredentials(b, token.AlgES256, func(o *testOptions) {
		o.WrapStore = func(st grantd.Store) grantd.Store {
			c := cache.New(st, st.(cache.Feed), cache.Config{})
			b.Cleanup(c.Stop)
			return c
		}
	})
}

func benchmarkClientCredentials(b *testing.B, alg string, opts ...testOption) {
	env := newTestEnv(b, append([]testOption{withIssuer(goldenIssuer), withAlgorithm(alg), unchecked}, opts...)...)
	owner := env.createUser(b, "owner@example.com")
	c, secret := env.createClient(b, owner, clientSpec{Scopes: []string{"read", "write"}})
	body := []byte("grant_type=client_credentials&scope=read")

	// request answers a prepared request whose body rewinds for the next
	// use, so that building requests is not what is measured.
	request := func() (*http.Request, func()) {
		rd := bytes.NewReader(body)
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", io.NopCloser(rd))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(c.ID, secret)
		return r, func() { rd.Reset(body) }
	}
	serve := func(b *testing.B, r *http.Request) {
		rec := httptest.NewRecorder()
		env.Server.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}

	b.Run("serial", func(b *testing.B) {
		r, rewind := request()
		b.ReportAllocs()
		for b.Loop() {
			rewind()
			serve(b, r)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, rewind := request()
			for pb.Next() {
				rewind()
				serve(b, r)
			}
		})
	})
}
