package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/testenv"
)

// TestClientIDMetadataDocument runs the whole flow of a client identified
// by a client ID metadata document: a document server on loopback, grantd
// with --client-metadata-allow-loopback, authorize with PKCE, consent
// through the API, the code for tokens, a refresh, all with
// golang.org/x/oauth2 and no registration.
func TestClientIDMetadataDocument(t *testing.T) {
	var hits atomic.Int32
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		self := "http://" + r.Host + r.URL.Path
		id := self
		if r.URL.Path == "/liar.json" {
			id = "http://" + r.Host + "/someone-else.json"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"Doc CLI","redirect_uris":["http://127.0.0.1/cb"],"scope":"read write admin"}`, id)
	}))
	defer docs.Close()
	s := apptest.New(t, apptest.Options{Scopes: testScopes, Engine: oauth.Config{ClientMetadata: cimd.Config{AllowLoopback: true}}})
	u := testenv.User(t, s.Store, "owner@example.com", "", s.Clock.Now())
	g := &grantdServer{URL: s.URL, API: s.URL + "/v2", Key: testenv.APIKey(t, s.Store, u.ID, s.Clock.Now())}
	docURL := docs.URL + "/client.json"

	tok := g.consent(t, docURL, "http://127.0.0.1/cb", "read", "write")
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token = %+v, want an access and a refresh token", tok)
	}
	cfg := oauth2.Config{
		ClientID: docURL, RedirectURL: "http://127.0.0.1/cb",
		Endpoint: oauth2.Endpoint{AuthURL: g.API + "/oauth/authorize", TokenURL: g.API + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(context.Background(), &old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh answered %+v, want new tokens", fresh)
	}
	if scope, _ := fresh.Extra("scope").(string); scope != "read write" {
		t.Errorf("scope = %q, want read write (admin is never an ownerless client's)", scope)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("document fetched %d times, want 1 (cached for its max-age)", n)
	}

	// Refusals are the authorize error page, 4xx, never a redirect.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, clientID, redirect string
		want                     int
	}{
		{"mismatched client_id", docs.URL + "/liar.json", "http://127.0.0.1/cb", http.StatusBadRequest},
		{"unlisted redirect_uri", docURL, "http://127.0.0.1/evil", http.StatusUnprocessableEntity},
		{"unreachable", "http://127.0.0.1:1/client.json", "http://127.0.0.1/cb", http.StatusNotFound},
	} {
		q := url.Values{"response_type": {"code"}, "client_id": {tc.clientID}, "redirect_uri": {tc.redirect},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		res, err := noRedirect.Get(g.API + "/oauth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %s %s %.200s, want %d and the HTML error page", tc.name, res.Status, res.Header.Get("Content-Type"), body, tc.want)
		}
	}
}
