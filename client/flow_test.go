package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Authorize sends the API key, does not follow the redirect, and reads
// the consent token or the code from where it was sent; an HTML error
// page is a *Error with its status.
func TestAuthorize(t *testing.T) {
	var auth, query string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, query = r.Header.Get("Authorization"), r.URL.RawQuery
		switch r.URL.Query().Get("client_id") {
		case "new":
			http.Redirect(w, r, "/consent?consent_token=ct1", http.StatusFound)
		case "granted":
			http.Redirect(w, r, "http://127.0.0.1:9/cb?code=c1&state=s&iss=x", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(404)
			io.WriteString(w, "<p>unknown client</p>")
		}
	}))
	defer ts.Close()
	c := New(ts.URL+"/v2", WithAPIKey("key"))
	p := AuthorizeParams{ClientID: "new", RedirectURI: "http://127.0.0.1:9/cb", Scopes: []string{"a", "b"}, State: "s", CodeChallenge: "ch"}
	a, err := c.Authorize(context.Background(), p)
	if err != nil || a.ConsentToken != "ct1" || a.Location != ts.URL+"/consent?consent_token=ct1" || auth != "Bearer key" {
		t.Fatalf("%+v %v (Authorization %q)", a, err, auth)
	}
	want := "client_id=new&code_challenge=ch&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=a+b&state=s"
	if query != want || c.AuthorizeURL(p) != ts.URL+"/v2/oauth/authorize?"+want {
		t.Fatalf("query %q, want %q", query, want)
	}
	p.ClientID = "granted"
	if a, err = c.Authorize(context.Background(), p); err != nil || a.Code != "c1" || a.State != "s" || a.ConsentToken != "" {
		t.Fatalf("%+v %v", a, err)
	}
	p.ClientID = "unknown"
	var apiErr *Error
	if _, err = c.Authorize(context.Background(), p); !asError(err, &apiErr) || apiErr.Status() != 404 {
		t.Fatalf("err = %v, want a 404 *Error", err)
	}
}

// Introspect authenticates as a client when given one, and otherwise
// with a bearer: the one given, else the API key.
func TestIntrospectCaller(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = append(got, r.Header.Get("Authorization")+" "+r.PostForm.Get("client_id"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"active":false}`)
	}))
	defer ts.Close()
	c := New(ts.URL+"/v2", WithAPIKey("key"))
	for _, p := range []IntrospectParams{
		{Token: "t"},
		{Token: "t", Bearer: "at"},
		{Token: "t", ClientID: "id", ClientSecret: "sec"},
	} {
		if in, err := c.Introspect(context.Background(), p); err != nil || in.Active {
			t.Fatalf("%+v: %+v %v", p, in, err)
		}
	}
	want := []string{"Bearer key ", "Bearer at ", "Basic aWQ6c2Vj "}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Authorization %q, want %q", got, want)
		}
	}
}
