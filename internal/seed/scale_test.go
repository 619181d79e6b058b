package seed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/seed"
	"github.com/grantd/grantd/internal/testenv"
)

// EnvScale adds the case of a million clients and grants to
// BenchmarkScale (seeding it takes minutes).
const EnvScale = "GRANTD_TEST_SCALE"

// BenchmarkScale measures, side by side, client-credentials token
// issuance and one user's grant list (10 grants) through the real HTTP
// handler, on SQLite and PostgreSQL, with 1,000 and (GRANTD_TEST_SCALE=1)
// 1,000,000 clients and grants in the database:
//
//	GRANTD_TEST_SCALE=1 GRANTD_TEST_POSTGRES_DSN=… go test -run '^$' -bench Scale -benchtime 3s ./internal/seed/
func BenchmarkScale(b *testing.B) {
	sizes := []int{1000}
	if os.Getenv(EnvScale) == "1" {
		sizes = append(sizes, 1000000)
	}
	for _, be := range testenv.Backends() {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", be.Name, n), func(b *testing.B) {
				st, _ := be.Open(b)
				s := apptest.New(b, apptest.Options{Issuer: "http://127.0.0.1:8080", Store: st, NoOpenAPICheck: true,
					ManagementLimit: ratelimit.Rate{Burst: 1 << 30, Every: time.Nanosecond}})
				start := time.Now()
				res, err := seed.Run(context.Background(), st.(seed.Bulker), seed.Options{Clients: n, Grants: n, Now: s.Clock.Now()})
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("seeded %d clients and grants in %s", n, time.Since(start).Round(time.Millisecond))
				b.Run("token", func(b *testing.B) {
					body := url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}.Encode()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.SetBasicAuth(url.QueryEscape(res.ClientID), url.QueryEscape(res.ClientSecret))
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("token: %d %s", rec.Code, rec.Body)
						}
					}
				})
				b.Run("grants", func(b *testing.B) {
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, "/v2/oauth_grants?page[size]=20", nil)
						req.Header.Set("Authorization", "Bearer "+res.APIKey)
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("grants: %d %s", rec.Code, rec.Body)
						}
						var out struct {
							Data []json.RawMessage `json:"data"`
						}
						if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Data) != 10 {
							b.Fatalf("grants: %v, %d of them", err, len(out.Data))
						}
					}
				})
			})
		}
	}
}
