package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// api sends a management request in process with the API key.
func (e *testEnv) api(t testing.TB, method, path, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, e.URL+path, nil)
	} else {
		r = httptest.NewRequest(method, e.URL+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return e.do(r)
}

// wantAPIError checks a Telnyx envelope: the status, every entry's code,
// and that each non-empty source (JSON pointer or query parameter) is named
// by an entry. With two or more sources the entries must be exactly those,
// in order; "" asks nothing of the sources.
func wantAPIError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string, sources ...string) []any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	m := decodeJSON(t, rec.Body.Bytes())
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors array: %s", rec.Body)
	}
	var got []string
	for i, e := range errs {
		em := e.(map[string]any)
		if em["code"] != code || em["title"] == "" || em["detail"] == "" {
			t.Fatalf("error %d = %v, want code %s with title and detail", i, em, code)
		}
		src, _ := em["source"].(map[string]any)
		s, _ := src["pointer"].(string)
		if s == "" {
			s, _ = src["parameter"].(string)
		}
		got = append(got, s)
	}
	if len(sources) > 1 {
		if strings.Join(got, " ") != strings.Join(sources, " ") {
			t.Fatalf("sources %q, want %q: %s", got, sources, rec.Body)
		}
		return errs
	}
	for _, want := range sources {
		if want != "" && !slices.Contains(got, want) {
			t.Fatalf("no error names %q (got %q): %s", want, got, rec.Body)
		}
	}
	return errs
}

const ccClient = `{"name": "My OAuth client", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`

func TestClientsCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	key := env.createAPIKey(t, u)

	rec := env.api(t, "POST", "/v2/oauth_clients", key, ccClient)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control of the answer that shows the secret = %q, want no-store", cc)
	}
	data := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	id, _ := data["client_id"].(string)
	secret, _ := data["client_secret"].(string)
	if len(id) < 22 || !strings.HasPrefix(secret, "grantd_secret_") {
		t.Fatalf("client_id %q, secret %q", id, secret)
	}
	for k, want := range map[string]any{
		"record_type": "oauth_client", "name": "My OAuth client", "client_type": "confidential",
		"org_id": u.OrgID, "user_id": u.ID, "require_pkce": false, "verified": false,
		"logo_uri": nil, "tos_uri": nil, "policy_uri": nil,
		"created_at": testStart.Format(time.RFC3339), "updated_at": testStart.Format(time.RFC3339),
	} {
		if data[k] != want {
			t.Errorf("%s = %v, want %v", k, data[k], want)
		}
	}
	if fmt.Sprint(data["allowed_scopes"]) != "[admin]" || fmt.Sprint(data["allowed_grant_types"]) != "[client_credentials]" || fmt.Sprint(data["redirect_uris"]) != "[]" {
		t.Errorf("lists = %v %v %v", data["allowed_scopes"], data["allowed_grant_types"], data["redirect_uris"])
	}
	// Only a hash is stored: the plain secret is nowhere in the row.
	c, err := env.Store.GetClient(t.Context(), id)
	if err != nil || c.SecretHash == "" || strings.Contains(c.SecretHash, secret) {
		t.Fatalf("stored client %+v, %v", c, err)
	}

	rec = env.api(t, "GET", "/v2/oauth_clients/"+id, key, "")
	got := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	if rec.Code != 200 || got["client_secret"] != nil || got["client_id"] != id {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}

	env.Clock.Advance(time.Minute)
	rec = env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"name": "Renamed", "allowed_grant_types": ["client_credentials", "authorization_code", "refresh_token"], "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1/cb", "com.example.app:/cb"], "logo_uri": "https://app.example.com/logo.png"}`)
	if rec.Code != 200 {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	got = decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	if got["name"] != "Renamed" || got["logo_uri"] != "https://app.example.com/logo.png" || fmt.Sprint(got["allowed_scopes"]) != "[admin]" ||
		got["updated_at"] != testStart.Add(time.Minute).Format(time.RFC3339) || got["created_at"] != testStart.Format(time.RFC3339) || got["client_secret"] != nil {
		t.Fatalf("updated = %v", got)
	}
	// null clears an optional member; omitted members stay.
	rec = env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"logo_uri": null}`)
	got = decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	if rec.Code != 200 || got["logo_uri"] != nil || got["name"] != "Renamed" {
		t.Fatalf("clear logo: %d %v", rec.Code, got)
	}
	// client_type cannot change.
	wantAPIError(t, env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"client_type": "public"}`), 422, "10027", "/client_type")
	// A rejected update changes nothing.
	wantAPIError(t, env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"name": "X", "redirect_uris": []}`), 422, "10027", "/redirect_uris")
	if c, _ := env.Store.GetClient(t.Context(), id); c.Name != "Renamed" {
		t.Fatalf("name after a rejected update = %q", c.Name)
	}

	rec = env.api(t, "DELETE", "/v2/oauth_clients/"+id, key, "")
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %q", rec.Code, rec.Body)
	}
	wantAPIError(t, env.api(t, "GET", "/v2/oauth_clients/"+id, key, ""), 404, "10005")
	wantAPIError(t, env.api(t, "DELETE", "/v2/oauth_clients/"+id, key, ""), 404, "10005")
}

func TestClientsPublicClient(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	key := env.createAPIKey(t, env.createUser(t, "owner@example.com"))
	rec := env.api(t, "POST", "/v2/oauth_clients", key, `{"name": "CLI", "allowed_scopes": ["read"], "client_type": "public", "allowed_grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["http://127.0.0.1/callback"]}`)
	if rec.Code != 201 {
		t.Fatalf("create public: %d %s", rec.Code, rec.Body)
	}
	data := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	if data["client_secret"] != nil || data["require_pkce"] != true {
		t.Fatalf("public client: secret %v, require_pkce %v (PKCE is always in effect)", data["client_secret"], data["require_pkce"])
	}
	// The Telnyx example's public client with client_credentials is refused.
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, `{"name": "My OAuth client", "allowed_scopes": ["admin"], "client_type": "public", "allowed_grant_types": ["client_credentials"]}`), 422, "10027", "/allowed_grant_types")
}

func TestClientsValidation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	key := env.createAPIKey(t, env.createUser(t, "owner@example.com"))
	for _, tc := range []struct {
		name    string
		body    string
		sources []string
	}{
		{"empty object", `{}`, []string{"/client_type", "/name", "/allowed_scopes", "/allowed_grant_types"}},
		{"unknown member", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"], "colour": "red"}`, []string{"/colour"}},
		{"wrong types", `{"name": 5, "allowed_scopes": "admin", "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/allowed_scopes", "/name"}},
		{"null required", `{"name": null, "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/name"}},
		{"blank name", `{"name": "  ", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/name"}},
		{"long name", `{"name": "` + strings.Repeat("n", 256) + `", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/name"}},
		{"bad type", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "secret", "allowed_grant_types": ["client_credentials"]}`, []string{"/client_type"}},
		{"unknown scope", `{"name": "a", "allowed_scopes": ["admin", "root"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/allowed_scopes/1"}},
		{"no scopes", `{"name": "a", "allowed_scopes": [], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, []string{"/allowed_scopes"}},
		{"unknown grant", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["password"]}`, []string{"/allowed_grant_types/0"}},
		{"code without redirect", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["authorization_code"]}`, []string{"/redirect_uris"}},
		{"bad redirects", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["authorization_code"], "redirect_uris": ["http://app.example.com/cb", "https://app.example.com/cb#frag", "/relative", "myapp:/cb", "https://user@app.example.com/cb"]}`,
			[]string{"/redirect_uris/0", "/redirect_uris/1", "/redirect_uris/2", "/redirect_uris/3", "/redirect_uris/4"}},
		{"bad logo", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"], "logo_uri": "javascript:alert(1)"}`, []string{"/logo_uri"}},
		{"bad pkce", `{"name": "a", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"], "require_pkce": "yes"}`, []string{"/require_pkce"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, tc.body), 422, "10027", tc.sources...)
		})
	}
	// Nothing was created by any of them.
	rec := env.api(t, "GET", "/v2/oauth_clients", key, "")
	if m := decodeJSON(t, rec.Body.Bytes())["meta"].(map[string]any); m["total_results"] != 0.0 {
		t.Fatalf("rejected creates left clients behind: %v", m)
	}
}

func TestClientsBadRequests(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	key := env.createAPIKey(t, env.createUser(t, "owner@example.com"))

	for _, body := range []string{`{"name": `, `[1,2]`, `"x"`, `null`, ` `} {
		wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, body), 400, "10015")
	}
	// Invalid UTF-8.
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, "{\"name\": \"\xff\"}"), 400, "10015")
	// A repeated member: which value was meant is not for the order to say.
	dup := strings.Replace(ccClient, "{", `{"name": "first", `, 1)
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, dup), 422, "10027", "/name")

	// Wrong content type.
	r := httptest.NewRequest("POST", env.URL+"/v2/oauth_clients", strings.NewReader(ccClient))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "text/plain")
	wantAPIError(t, env.do(r), 415, "10015")

	// Over 1 MiB.
	big := `{"name": "` + strings.Repeat("a", 1<<20) + `"}`
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, big), 413, "10015")
	r = httptest.NewRequest("POST", env.URL+"/v2/oauth_clients", bytes.NewReader([]byte(big)))
	r.ContentLength = -1 // chunked: the limit holds without a Content-Length
	r.Header.Set("Authorization", "Bearer "+key)
	wantAPIError(t, env.do(r), 413, "10015")

	// Method not allowed on a known path: 405 with Allow, in the envelope.
	rec := env.api(t, "PATCH", "/v2/oauth_clients", key, "")
	wantAPIError(t, rec, 405, "10015")
	if rec.Header().Get("Allow") != "GET, HEAD, POST" {
		t.Fatalf("Allow = %q", rec.Header().Get("Allow"))
	}
	// Unknown path under /v2.
	wantAPIError(t, env.api(t, "GET", "/v2/nothing_here", key, ""), 404, "10005")
}

func TestClientsAuthentication(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	challenge := `Bearer realm="grantd", resource_metadata="` + goldenIssuer + `/.well-known/oauth-protected-resource"`
	for _, tc := range []struct {
		name, auth, challenge string
	}{
		{"no header", "", challenge},
		{"basic", "Basic dXNlcjpwYXNz", challenge},
		{"empty bearer", "Bearer ", challenge},
		{"unknown key", "Bearer grantd_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", challenge + `, error="invalid_token"`},
		{"garbage", "Bearer not-a-token", challenge + `, error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", env.URL+"/v2/oauth_clients", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := env.do(r)
			wantAPIError(t, rec, 401, "10009")
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
		})
	}
	// A working key records its last use.
	u := env.createUser(t, "owner@example.com")
	key := env.createAPIKey(t, u)
	if rec := env.api(t, "GET", "/v2/oauth_clients", key, ""); rec.Code != 200 {
		t.Fatalf("good key: %d", rec.Code)
	}
}

func TestClientsIsolation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	alice := env.createAPIKey(t, env.createUser(t, "alice@example.com"))
	bob := env.createAPIKey(t, env.createUser(t, "bob@example.com"))
	rec := env.api(t, "POST", "/v2/oauth_clients", alice, ccClient)
	id := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)["client_id"].(string)

	// Bob sees none of it: every verb is a 404, never a 403.
	wantAPIError(t, env.api(t, "GET", "/v2/oauth_clients/"+id, bob, ""), 404, "10005")
	wantAPIError(t, env.api(t, "PUT", "/v2/oauth_clients/"+id, bob, `{"name": "mine now"}`), 404, "10005")
	wantAPIError(t, env.api(t, "DELETE", "/v2/oauth_clients/"+id, bob, ""), 404, "10005")
	rec = env.api(t, "GET", "/v2/oauth_clients?filter[client_id]="+id, bob, "")
	if m := decodeJSON(t, rec.Body.Bytes()); len(m["data"].([]any)) != 0 {
		t.Fatalf("bob lists alice's client: %s", rec.Body)
	}
	// And Alice's client is untouched.
	rec = env.api(t, "GET", "/v2/oauth_clients/"+id, alice, "")
	if rec.Code != 200 || decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)["name"] != "My OAuth client" {
		t.Fatalf("alice's client after bob: %d %s", rec.Code, rec.Body)
	}
}

func TestClientsListPaginationAndFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	key := env.createAPIKey(t, env.createUser(t, "owner@example.com"))
	// 105 clients, one a second so "newest first" is well defined; a few
	// differ so that every filter has something to find.
	ids := make([]string, 0, 105)
	for i := range 105 {
		body := fmt.Sprintf(`{"name": "client %03d", "allowed_scopes": ["read"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`, i)
		switch {
		case i == 7:
			body = `{"name": "Mobile App", "allowed_scopes": ["read"], "client_type": "public", "allowed_grant_types": ["authorization_code"], "redirect_uris": ["com.example.app:/cb"]}`
		case i == 8:
			body = `{"name": "Web App", "allowed_scopes": ["read", "write"], "client_type": "confidential", "allowed_grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://web.example.com/cb"]}`
		}
		rec := env.api(t, "POST", "/v2/oauth_clients", key, body)
		if rec.Code != 201 {
			t.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
		ids = append(ids, decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)["client_id"].(string))
		env.Clock.Advance(time.Second)
	}
	// Mark one verified, as an operator would.
	if _, err := env.Store.UpdateClient(t.Context(), ids[3], func(c grantd.Client) (grantd.Client, error) { c.Verified = true; return c, nil }); err != nil {
		t.Fatal(err)
	}

	list := func(query string) (ids []string, meta map[string]any) {
		t.Helper()
		rec := env.api(t, "GET", "/v2/oauth_clients"+query, key, "")
		if rec.Code != 200 {
			t.Fatalf("list %s: %d %s", query, rec.Code, rec.Body)
		}
		m := decodeJSON(t, rec.Body.Bytes())
		for _, d := range m["data"].([]any) {
			ids = append(ids, d.(map[string]any)["client_id"].(string))
		}
		return ids, m["meta"].(map[string]any)
	}
	metaIs := func(meta map[string]any, number, size, pages, total int) {
		t.Helper()
		if meta["page_number"] != float64(number) || meta["page_size"] != float64(size) || meta["total_pages"] != float64(pages) || meta["total_results"] != float64(total) {
			t.Fatalf("meta = %v, want %d/%d/%d/%d", meta, number, size, pages, total)
		}
	}

	got, meta := list("")
	metaIs(meta, 1, 20, 6, 105)
	if len(got) != 20 || got[0] != ids[104] || got[19] != ids[85] {
		t.Fatalf("default page is not the 20 newest first")
	}
	got, meta = list("?page[size]=100")
	metaIs(meta, 1, 100, 2, 105)
	if len(got) != 100 {
		t.Fatalf("size 100 gave %d", len(got))
	}
	got, meta = list("?page[size]=100&page[number]=2")
	metaIs(meta, 2, 100, 2, 105)
	if len(got) != 5 || got[4] != ids[0] {
		t.Fatalf("last page = %v", got)
	}
	got, meta = list("?page[number]=9")
	metaIs(meta, 9, 20, 6, 105)
	if len(got) != 0 {
		t.Fatalf("page past the end has %d items", len(got))
	}
	for _, q := range []string{"page[size]=101", "page[size]=0", "page[number]=0", "page[number]=-1", "page[size]=x", "page[color]=1"} {
		rec := env.api(t, "GET", "/v2/oauth_clients?"+q, key, "")
		wantAPIError(t, rec, 422, "10027", strings.SplitN(q, "=", 2)[0])
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"filter[client_type]=public", []string{ids[7]}},
		{"filter[name]=Web%20App", []string{ids[8]}},
		{"filter[name]=web%20app", nil},
		{"filter[name][contains]=app", []string{ids[8], ids[7]}},
		{"filter[name][contains]=%25", nil}, // a literal %, not a wildcard
		{"filter[client_id]=" + ids[42], []string{ids[42]}},
		{"filter[allowed_grant_types][contains]=refresh_token", []string{ids[8]}},
		{"filter[allowed_grant_types][contains]=authorization_code", []string{ids[8], ids[7]}},
		{"filter[verified]=true", []string{ids[3]}},
		{"filter[client_type]=public&filter[name][contains]=web", nil},
	} {
		got, meta := list("?" + tc.query)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s = %v, want %v", tc.query, got, tc.want)
		}
		if meta["total_results"] != float64(len(tc.want)) {
			t.Errorf("%s total_results = %v, want %d", tc.query, meta["total_results"], len(tc.want))
		}
	}
	if got, _ := list("?filter[verified]=false&page[size]=100"); len(got) != 100 {
		t.Errorf("filter[verified]=false gave %d on the first page", len(got))
	}
	for _, q := range []string{"filter[client_type]=secret", "filter[verified]=yes", "filter[allowed_grant_types][contains]=password", "filter[colour]=red"} {
		wantAPIError(t, env.api(t, "GET", "/v2/oauth_clients?"+q, key, ""), 422, "10027", strings.SplitN(q, "=", 2)[0])
	}
	// A query that cannot be read as sent is a 400, not a list that
	// quietly ignores the filter.
	for _, q := range []string{
		"page[size]=%zz",
		"filter[name]=%ff",
		"filter[name][contains]=a%00b",
		"filter[client_type]=public&filter[client_type]=confidential",
		"page[size]=5&page[size]=50",
	} {
		wantAPIError(t, env.api(t, "GET", "/v2/oauth_clients?"+q, key, ""), 400, "10015")
	}
}
