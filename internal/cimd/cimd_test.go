package cimd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// docServer serves, at /client.json, a document whose client_id is its
// own URL, through handle when set; it counts requests.
type docServer struct {
	*httptest.Server
	hits   atomic.Int32
	handle func(w http.ResponseWriter, r *http.Request, url string)
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	s := &docServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		u := s.URL + r.URL.Path
		if s.handle != nil {
			s.handle(w, r, u)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"Test","redirect_uris":["http://127.0.0.1:9/cb"]}`, u)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *docServer) doc() string { return s.URL + "/client.json" }

func kindOf(t *testing.T, err error) Kind {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *cimd.Error", err)
	}
	return e.Kind
}

func TestFetchAccepts(t *testing.T) {
	s := newDocServer(t)
	doc, err := New(Config{AllowLoopback: true}, nil).Fetch(context.Background(), s.doc())
	if err != nil {
		t.Fatal(err)
	}
	if doc.ClientID != s.doc() || doc.ClientName != "Test" || len(doc.RedirectURIs) != 1 {
		t.Fatalf("doc = %+v", doc)
	}
}

func TestFetchRefusesBadDocuments(t *testing.T) {
	big := strings.Repeat(" ", DefaultMaxSize)
	cases := map[string]func(w http.ResponseWriter, u string){
		"mismatched client_id": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"]}`, u+"x")
		},
		"too large": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"]}%s`, u, big)
		},
		"not JSON": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"]}`, u)
		},
		"no client_name": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["https://a.example/cb"]}`, u)
		},
		"no redirect_uris": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"T"}`, u)
		},
		"shared secret": func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`, u)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			s := newDocServer(t)
			s.handle = func(w http.ResponseWriter, _ *http.Request, u string) { h(w, u) }
			_, err := New(Config{AllowLoopback: true}, nil).Fetch(context.Background(), s.doc())
			if k := kindOf(t, err); k != Invalid {
				t.Fatalf("kind = %v (%v), want Invalid", k, err)
			}
		})
	}
}

func TestFetchFollowsNoRedirect(t *testing.T) {
	s := newDocServer(t)
	s.handle = func(w http.ResponseWriter, r *http.Request, u string) {
		if r.URL.Path == "/client.json" {
			http.Redirect(w, r, "/other.json", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"]}`, s.doc())
	}
	_, err := New(Config{AllowLoopback: true}, nil).Fetch(context.Background(), s.doc())
	if k := kindOf(t, err); k != Unavailable {
		t.Fatalf("kind = %v (%v), want Unavailable", k, err)
	}
	if n := s.hits.Load(); n != 1 {
		t.Fatalf("server saw %d requests, want 1 (the redirect was followed)", n)
	}
}

func TestFetchRefusesLoopbackWithoutFlag(t *testing.T) {
	var hits atomic.Int32
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer s.Close()
	_, err := New(Config{}, nil).Fetch(context.Background(), s.URL+"/client.json")
	if k := kindOf(t, err); k != Refused {
		t.Fatalf("kind = %v (%v), want Refused", k, err)
	}
	if hits.Load() != 0 {
		t.Fatal("the server on 127.0.0.1 was reached")
	}
	// Without the flag an http loopback URL is no document URL at all.
	if IsDocumentURL("http://127.0.0.1:1/client.json", false) {
		t.Fatal("http://127.0.0.1 is a document URL without the loopback flag")
	}
}

func TestFetchTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := newDocServer(t)
	s.handle = func(w http.ResponseWriter, r *http.Request, u string) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := New(Config{AllowLoopback: true, Timeout: 50 * time.Millisecond}, nil).Fetch(context.Background(), s.doc())
		done <- err
	}()
	select {
	case err := <-done:
		if k := kindOf(t, err); k != Unavailable {
			t.Fatalf("kind = %v (%v), want Unavailable", k, err)
		}
	case <-time.After(time.Minute):
		t.Fatal("fetch from a server that never answers did not time out")
	}
}

func TestFetchDomainPolicy(t *testing.T) {
	s := newDocServer(t)
	deny, err := ParseDomains("!127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{AllowLoopback: true, Domains: deny}, nil).Fetch(context.Background(), s.doc())
	if k := kindOf(t, err); k != Refused {
		t.Fatalf("kind = %v (%v), want Refused", k, err)
	}
	if s.hits.Load() != 0 {
		t.Fatal("a denied domain was fetched")
	}
	d, _ := ParseDomains("*.example.com, app.example.org, !bad.example.com")
	for host, want := range map[string]bool{
		"a.example.com": true, "example.com": false, "bad.example.com": false,
		"app.example.org": true, "x.app.example.org": false, "evil.com": false, "APP.example.org.": true,
	} {
		if got := d.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
	if _, err := ParseDomains("exa mple.com"); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func TestFetchCaches(t *testing.T) {
	s := newDocServer(t)
	s.handle = func(w http.ResponseWriter, _ *http.Request, u string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=600")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"T","redirect_uris":["https://a.example/cb"]}`, u)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New(Config{AllowLoopback: true}, func() time.Time { return now })
	fetch := func(want int32) {
		t.Helper()
		if _, err := f.Fetch(context.Background(), s.doc()); err != nil {
			t.Fatal(err)
		}
		if n := s.hits.Load(); n != want {
			t.Fatalf("server saw %d requests, want %d", n, want)
		}
	}
	fetch(1)
	now = now.Add(599 * time.Second)
	fetch(1)
	now = now.Add(2 * time.Second)
	fetch(2)
}

func TestTTLBounds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New(Config{}, func() time.Time { return now })
	for h, want := range map[string]time.Duration{
		"max-age=5":       DefaultMinTTL,
		"max-age=9999999": DefaultMaxTTL,
		"no-store":        DefaultMinTTL,
		"max-age=3600":    time.Hour,
		"":                DefaultTTL,
	} {
		hd := http.Header{}
		if h != "" {
			hd.Set("Cache-Control", h)
		}
		if got := f.ttl(hd); got != want {
			t.Errorf("ttl(%q) = %v, want %v", h, got, want)
		}
	}
	hd := http.Header{"Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}
	if got := f.ttl(hd); got != 2*time.Hour {
		t.Errorf("ttl(Expires +2h) = %v", got)
	}
}

func TestAllowedAddr(t *testing.T) {
	for a, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "224.0.0.1": false, "100.64.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "ff02::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:169.254.169.254": false,
		"64:ff9b::a00:1": false,
	} {
		if got := allowedAddr(netip.MustParseAddr(a), false); got != want {
			t.Errorf("allowedAddr(%s) = %v, want %v", a, got, want)
		}
	}
	if !allowedAddr(netip.MustParseAddr("127.0.0.1"), true) || allowedAddr(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("the loopback flag must admit loopback and only loopback")
	}
}

func TestIsDocumentURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://app.example.com/client.json":  true,
		"https://app.example.com":              false,
		"https://app.example.com/":             false,
		"http://app.example.com/c.json":        false,
		"https://u:p@app.example.com/c.json":   false,
		"https://app.example.com/c.json#x":     false,
		"https://app.example.com/a/../c.json":  false,
		"8a2f0c1e-0000-4000-8000-000000000000": false,
	} {
		if got := IsDocumentURL(u, false); got != want {
			t.Errorf("IsDocumentURL(%q) = %v, want %v", u, got, want)
		}
	}
}
