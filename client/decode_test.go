package client_test

// The tests of client that need no grantd. Those that talk to a real
// grantd live in the server's module, in internal/e2e/client.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/grantd/grantd/client"
)

// Other servers of this API shape may send numbers as strings, scope
// lists, nulls and members grantd does not know.
func TestForgivingDecoding(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/oauth/token":
			w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":"3600","scope":null,"x-extra":{"a":1}}`))
		case "/v2/oauth/introspect":
			w.Write([]byte(`{"active":true,"aud":"https://a.example","exp":17e8,"scope":"a b"}`))
		case "/v2/oauth_grants":
			w.Write([]byte(`{"data":[{"id":"g1","scopes":"a b","created_at":1700000000,"last_used_at":null,"new":true}],"meta":{"page_number":"1","page_size":20,"total_pages":1,"total_results":1}}`))
		case "/v2/oauth_clients/x":
			w.WriteHeader(503)
			w.Header().Set("Retry-After", "5")
			w.Write([]byte(`{"errors":[{"code":10007,"title":"Unexpected error"}],"error":"temporarily_unavailable"}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte(`<html>bad gateway</html>`))
		}
	}))
	defer ts.Close()
	c := client.New(ts.URL + "/v2/")
	ctx := context.Background()

	tok, err := c.Token(ctx, client.TokenParams{ClientID: "a", ClientSecret: "b"})
	if err != nil || tok.ExpiresIn != 3600 || tok.Scope != "" || tok.AccessToken != "at" {
		t.Fatalf("token = %+v, %v", tok, err)
	}
	in, err := c.Introspect(ctx, client.IntrospectParams{Token: "t"})
	if err != nil || !in.Active || !slices.Equal(in.Audience, []string{"https://a.example"}) || in.ExpiresAt != 1700000000 {
		t.Fatalf("introspection = %+v, %v", in, err)
	}
	l, err := c.ListGrants(ctx, client.ListGrantsParams{})
	if err != nil || len(l.Data) != 1 || !slices.Equal(l.Data[0].Scopes, []string{"a", "b"}) ||
		l.Data[0].CreatedAt.Unix() != 1700000000 || !l.Data[0].LastUsedAt.IsZero() || l.Meta.PageNumber != 1 {
		t.Fatalf("grants = %+v, %v", l, err)
	}
	_, err = c.GetClient(ctx, "x")
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 503 || e.Errors[0].Code != "10007" || e.Code != "temporarily_unavailable" {
		t.Fatalf("503: %#v", err)
	}
	_, err = c.Metadata(ctx)
	if !errors.As(err, &e) || e.StatusCode != 502 || err.Error() != "API: 502 Bad Gateway" {
		t.Fatalf("502: %v", err)
	}
}
