package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestOAuthGrantsEndpoints(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	ctx := context.Background()
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)
	bob := env.createUser(t, "bob@example.com")
	bobKey := env.createAPIKey(t, bob)

	var ids []string
	for i := range 3 {
		c, _ := codeFlowClient(t, env, alice)
		g := env.createGrant(t, alice, c, "read", "write")
		ids = append(ids, g.ID)
		if i == 0 {
			if err := env.Store.TouchGrant(ctx, g.ID, env.Clock.Now().Add(90*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		env.Clock.Advance(time.Minute)
	}
	bc, _ := codeFlowClient(t, env, bob)
	bobGrant := env.createGrant(t, bob, bc, "read")
	first, err := env.Store.GetGrant(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}

	t.Run("list", func(t *testing.T) {
		rec := azDo(t, env, "GET", "/v2/oauth_grants?page[size]=2&page[number]=2", "", bearer(key)...)
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
		}
		want := fmt.Sprintf(`{"data":[{"id":%q,"record_type":"oauth_grant","client_id":%q,"scopes":["read","write"],`+
			`"created_at":"2030-01-02T03:04:05Z","last_used_at":"2030-01-02T03:05:35Z"}],`+
			`"meta":{"page_number":2,"page_size":2,"total_pages":2,"total_results":3}}`, first.ID, first.ClientID)
		if got := rec.Body.String(); got != want {
			t.Errorf("body =\n%s\nwant\n%s", got, want)
		}
		rec = azDo(t, env, "GET", "/v2/oauth_grants", "", bearer(key)...)
		m := decodeJSON(t, rec.Body.Bytes())
		data, _ := m["data"].([]any)
		if len(data) != 3 || data[0].(map[string]any)["id"] != ids[2] || data[0].(map[string]any)["last_used_at"] != nil {
			t.Errorf("first page = %s", rec.Body)
		}
		rec = azDo(t, env, "GET", "/v2/oauth_grants?page[number]=9", "", bearer(key)...)
		if got := rec.Body.String(); got != `{"data":[],"meta":{"page_number":9,"page_size":20,"total_pages":1,"total_results":3}}` {
			t.Errorf("page past the end = %s", got)
		}
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants?page[size]=101", "", bearer(key)...), 422, "10027", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants?page[number]=0", "", bearer(key)...), 422, "10027", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants?filter[client_id]=x", "", bearer(key)...), 422, "10027", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants?page[size]=%zz", "", bearer(key)...), 400, "10015", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants?page[number]=1&page[number]=2", "", bearer(key)...), 400, "10015", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants", ""), 401, "10009", "")
	})
	t.Run("get", func(t *testing.T) {
		rec := azDo(t, env, "GET", "/v2/oauth_grants/"+ids[1], "", bearer(key)...)
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
		}
		d, _ := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
		if d["id"] != ids[1] || d["record_type"] != "oauth_grant" || d["last_used_at"] != nil || len(d) != 6 {
			t.Errorf("data = %v", d)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, id := range []string{bobGrant.ID, uuid.NewString(), "nope", strings.ToUpper(ids[0]), "%7B" + ids[0] + "%7D", strings.Repeat("a", 5000)} {
			wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants/"+id, "", bearer(key)...), 404, "10005", "")
			wantAPIError(t, azDo(t, env, "DELETE", "/v2/oauth_grants/"+id, "", bearer(key)...), 404, "10005", "")
		}
		if _, err := env.Store.GetGrant(ctx, bobGrant.ID); err != nil {
			t.Errorf("bob's grant: %v", err)
		}
		// Bob sees his own.
		if rec := azDo(t, env, "GET", "/v2/oauth_grants/"+bobGrant.ID, "", bearer(bobKey)...); rec.Code != http.StatusOK {
			t.Errorf("bob's own grant: %d", rec.Code)
		}
	})
	t.Run("delete", func(t *testing.T) {
		rec := azDo(t, env, "DELETE", "/v2/oauth_grants/"+ids[0], "", bearer(key)...)
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
		}
		d, _ := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
		if d["id"] != ids[0] || d["record_type"] != "oauth_grant" || d["client_id"] != first.ClientID {
			t.Errorf("data = %v", d)
		}
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth_grants/"+ids[0], "", bearer(key)...), 404, "10005", "")
		wantAPIError(t, azDo(t, env, "DELETE", "/v2/oauth_grants/"+ids[0], "", bearer(key)...), 404, "10005", "")
		m := decodeJSON(t, azDo(t, env, "GET", "/v2/oauth_grants", "", bearer(key)...).Body.Bytes())
		if meta, _ := m["meta"].(map[string]any); meta["total_results"] != float64(2) {
			t.Errorf("after delete meta = %v", meta)
		}
		wantAPIError(t, azDo(t, env, "PUT", "/v2/oauth_grants/"+ids[1], "{}", bearer(key)...), 405, "10015", "")
	})
}
