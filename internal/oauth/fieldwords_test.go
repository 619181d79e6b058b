package oauth

import (
	"testing"

	"github.com/grantd/grantd"
)

// Apply's problems are typed, and each adapter words them in its names:
// registration in RFC 7591's, without rewriting text (a value the caller
// sent that looks like a field name stays as sent).
func TestRegistrationWordsApplysProblems(t *testing.T) {
	t.Parallel()
	catalog, err := grantd.NewCatalog(grantd.DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	words := func(in ClientInput) map[string]string {
		var c grantd.Client
		out := map[string]string{}
		for _, f := range in.Apply(&c, true, catalog) {
			r := registrationField(f)
			out[r.Pointer] = r.Detail
		}
		return out
	}
	public, blank := string(grantd.ClientPublic), " "
	got := words(ClientInput{ClientType: &public, Name: &blank, AllowedScopes: &[]string{"allowed_scopes"}, AllowedGrantTypes: &[]string{}})
	for ptr, want := range map[string]string{
		"/client_name": "client_name must not be blank",
		"/scope":       `"allowed_scopes" is not a scope of this server`,
		"/grant_types": "grant_types must name at least one grant type",
	} {
		if got[ptr] != want {
			t.Errorf("%s: %q, want %q", ptr, got[ptr], want)
		}
	}
	name := "App"
	got = words(ClientInput{ClientType: &public, Name: &name, AllowedScopes: &[]string{grantd.ScopeAdmin}, AllowedGrantTypes: &[]string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode}})
	for ptr, want := range map[string]string{
		"/grant_types":   "a public client (token_endpoint_auth_method none) cannot use client_credentials",
		"/redirect_uris": "redirect_uris is required when grant_types includes authorization_code",
	} {
		if got[ptr] != want {
			t.Errorf("%s: %q, want %q (all: %v)", ptr, got[ptr], want, got)
		}
	}
}
