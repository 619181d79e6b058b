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

// TokenExchange sends the RFC 8693 parameters, defaulting the token
// types (actor_token_type only with an actor_token), and reads
// issued_token_type; Introspect reads a nested act and ignores one it
// cannot read.
func TestTokenExchangeForm(t *testing.T) {
	var forms []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/oauth/introspect" {
			if r.PostForm.Get("token") == "bad" {
				io.WriteString(w, `{"active":true,"act":"someone"}`)
				return
			}
			io.WriteString(w, `{"active":true,"act":{"sub":"b","client_id":"b","act":{"sub":"a"}}}`)
			return
		}
		forms = append(forms, r.PostForm.Encode())
		io.WriteString(w, `{"access_token":"x","token_type":"Bearer","expires_in":60,"scope":"read","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}`)
	}))
	defer ts.Close()
	c := New(ts.URL + "/v2")
	tok, err := c.TokenExchange(context.Background(), TokenExchangeParams{ClientID: "id", ClientSecret: "s", SubjectToken: "st", Resource: "https://api", Scopes: []string{"read"}})
	if err != nil || tok.IssuedTokenType != TokenTypeAccessToken || tok.AccessToken != "x" {
		t.Fatalf("%+v %v", tok, err)
	}
	if _, err := c.TokenExchange(context.Background(), TokenExchangeParams{ClientID: "id", ClientSecret: "s", SubjectToken: "st", ActorToken: "at", Audience: "api"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&resource=https%3A%2F%2Fapi&scope=read&subject_token=st&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
		"actor_token=at&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=api&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=st&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
	}
	for i := range want {
		if forms[i] != want[i] {
			t.Errorf("form %d = %s, want %s", i, forms[i], want[i])
		}
	}
	in, err := c.Introspect(context.Background(), IntrospectParams{ClientID: "id", ClientSecret: "s", Token: "t"})
	if err != nil || in.Act == nil || in.Act.Subject != "b" || in.Act.Act == nil || in.Act.Act.Subject != "a" {
		t.Fatalf("%+v %v", in, err)
	}
	if in, err = c.Introspect(context.Background(), IntrospectParams{ClientID: "id", ClientSecret: "s", Token: "bad"}); err != nil || in.Act != nil || !in.Active {
		t.Fatalf("%+v %v", in, err)
	}
}
