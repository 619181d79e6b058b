package cli

import (
	"strings"
	"testing"
)

// `grantd introspect` without a client: with neither a client nor an API
// key it says what it needs; with an API key it sends the key as a
// bearer (RFC 7662 §2.1) and prints the answer.
func TestIntrospectWithAPIKey(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var svc cliClient
	e.jsonOf(t, &svc, "clients", "create", "--name", "worker", "--client-type", "confidential",
		"--allowed-scopes", "admin", "--allowed-grant-types", "client_credentials")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.jsonOf(t, &tok, "token", "--client-id", svc.ClientID, "--client-secret", *svc.ClientSecret)

	code, _, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base}, "introspect", tok.AccessToken)
	if code == 0 || !strings.Contains(msg, "--client-id") || !strings.Contains(msg, "GRANTD_API_KEY") {
		t.Fatalf("introspect with no caller: exit %d, %q; want a message naming both ways", code, msg)
	}

	var in struct {
		Active   bool   `json:"active"`
		ClientID string `json:"client_id"`
	}
	e.jsonOf(t, &in, "introspect", tok.AccessToken)
	if !in.Active || in.ClientID != svc.ClientID {
		t.Fatalf("introspect with the API key = %+v", in)
	}
}
