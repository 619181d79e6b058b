package storetest

import (
	"slices"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

func testClients(e env) {
	u := e.user(1)

	full := newClient("8qI2tC7qexVUVvItjkzVpA", u)
	full.RequirePKCE = true
	full.GrantTypes = []string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode, grantd.GrantRefreshToken}
	full.RedirectURIs = []string{redirectURI, "http://127.0.0.1/cb", "com.example.app:/cb"}
	full.LogoURI = "https://app.example.com/logo.png"
	full.TosURI = "https://app.example.com/tos"
	full.PolicyURI = "https://app.example.com/privacy"
	full.Verified = true
	full.Registered = true
	full.Origin = grantd.OriginMetadataDocument // set, it wins over Registered
	full.ObtainedToken = true
	full.TokenEndpointAuthMethod = grantd.AuthMethodClientSecretPost
	full.RegistrationTokenHash = hash("grantd_reg_x")
	full.TokenExchangeResources = []string{"https://api.example.com/", "https://mcp.example.com/mcp"}
	full.UpdatedAt = at(time.Second)
	e.client(full)
	got, err := e.s.GetClient(e.ctx, full.ID)
	e.ok(err, "get client")
	e.equal("GetClient (every field set)", got, full)

	// A client registered without an owner, with nothing optional.
	bare := grantd.Client{
		ID:                      "public-no-owner",
		Name:                    "Bare",
		Type:                    grantd.ClientPublic,
		TokenEndpointAuthMethod: grantd.AuthMethodNone,
		CreatedAt:               at(0),
		UpdatedAt:               at(0),
	}
	e.client(bare)
	got, err = e.s.GetClient(e.ctx, bare.ID)
	e.ok(err, "get client")
	bare.Origin = grantd.OriginAPI // unset at creation, not registered
	e.equal("GetClient (no owner, empty lists)", got, bare)

	dup := newClient(full.ID, u)
	e.is(e.s.CreateClient(e.ctx, dup), grantd.ErrAlreadyExists, "create client with a taken id")
	_, err = e.s.GetClient(e.ctx, "missing")
	e.is(err, grantd.ErrNotFound, "get missing client")

	e.ok(e.s.DeleteClient(e.ctx, full.ID), "delete client")
	_, err = e.s.GetClient(e.ctx, full.ID)
	e.is(err, grantd.ErrNotFound, "get deleted client")
	e.is(e.s.DeleteClient(e.ctx, full.ID), grantd.ErrNotFound, "delete deleted client")
	_, err = e.s.GetClient(e.ctx, bare.ID)
	e.ok(err, "get the other client")
}

func testClientUpdates(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))

	want := c
	want.Name = "Renamed"
	want.Scopes = []string{"messages:read"}
	want.RedirectURIs = []string{"https://new.example.com/cb", redirectURI}
	want.Verified = true
	want.LogoURI = "https://new.example.com/logo.png"
	want.TokenExchangeResources = []string{"https://api.example.com/"}
	want.UpdatedAt = at(time.Hour)
	got, err := e.s.UpdateClient(e.ctx, c.ID, func(old grantd.Client) (grantd.Client, error) {
		e.equal("updater's argument", old, c)
		want := want
		want.RedirectURIs = slices.Clone(want.RedirectURIs)
		return want, nil
	})
	e.ok(err, "update client")
	e.equal("UpdateClient answer", got, want)
	got, err = e.s.GetClient(e.ctx, c.ID)
	e.ok(err, "get client")
	e.equal("client after update", got, want)

	refused := failing("update client")
	_, err = e.s.UpdateClient(e.ctx, c.ID, func(old grantd.Client) (grantd.Client, error) {
		old.Name = "Never"
		old.Verified = false
		return old, refused
	})
	e.same(err, refused, "update client with a failing updater")
	got, err = e.s.GetClient(e.ctx, c.ID)
	e.ok(err, "get client")
	e.equal("client after a failed update", got, want)

	// The renamed client is found by its new name only.
	list, _, err := e.s.ListClients(e.ctx, grantd.ClientFilter{NameContains: "renamed"}, grantd.Page{Number: 1, Size: 10})
	e.ok(err, "list clients by new name")
	e.equal("clients named like the new name", clientIDs(list), []string{c.ID})
	list, _, err = e.s.ListClients(e.ctx, grantd.ClientFilter{NameContains: "client-1"}, grantd.Page{Number: 1, Size: 10})
	e.ok(err, "list clients by old name")
	e.equal("clients named like the old name", clientIDs(list), []string(nil))

	called := false
	_, err = e.s.UpdateClient(e.ctx, "missing", func(old grantd.Client) (grantd.Client, error) {
		called = true
		return old, nil
	})
	e.is(err, grantd.ErrNotFound, "update missing client")
	if called {
		e.t.Error("UpdateClient called the updater for a missing client")
	}
}

func clientIDs(cs []grantd.Client) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testListClients(e env) {
	u1 := e.user(1)
	u2 := e.user(2)

	mk := func(id, name string, owner grantd.User, created time.Duration, mod func(*grantd.Client)) grantd.Client {
		c := newClient(id, owner)
		c.Name = name
		c.CreatedAt = at(created)
		c.UpdatedAt = at(created)
		if mod != nil {
			mod(&c)
		}
		return e.client(c)
	}
	public := func(c *grantd.Client) {
		c.Type = grantd.ClientPublic
		c.SecretHash = ""
		c.TokenEndpointAuthMethod = grantd.AuthMethodNone
	}
	machine := func(c *grantd.Client) {
		c.GrantTypes = []string{grantd.GrantClientCredentials}
		c.RedirectURIs = nil
	}
	verified := func(c *grantd.Client) { c.Verified = true }

	// u1's clients, newest first: "c-5" (t+5), then "c-B" and "c-a" (both
	// t+4; "B" sorts before "a" byte by byte, not in a locale's order),
	// "c-3", "c-2", "c-1".
	mk("c-1", "Alpha App", u1, 1*time.Second, nil)
	mk("c-2", "beta_app", u1, 2*time.Second, public)
	mk("c-3", "Gamma 100%", u1, 3*time.Second, machine)
	mk("c-a", "École Client", u1, 4*time.Second, verified)
	mk("c-B", "alphabet", u1, 4*time.Second, func(c *grantd.Client) { public(c); verified(c) })
	mk("c-5", "betaXapp", u1, 5*time.Second, machine)
	// Someone else's, newer than all of u1's.
	mk("d-1", "Alpha App", u2, 9*time.Second, nil)

	page := func(n, size int) grantd.Page { return grantd.Page{Number: n, Size: size} }
	all := page(1, 100)
	tests := []struct {
		name  string
		f     grantd.ClientFilter
		p     grantd.Page
		want  []string
		total int
	}{
		{"everything", grantd.ClientFilter{}, all, []string{"d-1", "c-5", "c-B", "c-a", "c-3", "c-2", "c-1"}, 7},
		{"owner", grantd.ClientFilter{OwnerUserID: u1.ID}, all, []string{"c-5", "c-B", "c-a", "c-3", "c-2", "c-1"}, 6},
		{"other owner", grantd.ClientFilter{OwnerUserID: u2.ID}, all, []string{"d-1"}, 1},
		{"unknown owner", grantd.ClientFilter{OwnerUserID: uuid(kindUser, 99)}, all, nil, 0},
		{"page 1", grantd.ClientFilter{OwnerUserID: u1.ID}, page(1, 2), []string{"c-5", "c-B"}, 6},
		{"page 2", grantd.ClientFilter{OwnerUserID: u1.ID}, page(2, 2), []string{"c-a", "c-3"}, 6},
		{"last page", grantd.ClientFilter{OwnerUserID: u1.ID}, page(2, 4), []string{"c-2", "c-1"}, 6},
		{"past the end", grantd.ClientFilter{OwnerUserID: u1.ID}, page(4, 2), nil, 6},
		{"type", grantd.ClientFilter{OwnerUserID: u1.ID, ClientType: grantd.ClientPublic}, all, []string{"c-B", "c-2"}, 2},
		{"name exact", grantd.ClientFilter{OwnerUserID: u1.ID, Name: "Alpha App"}, all, []string{"c-1"}, 1},
		{"name exact is case-sensitive", grantd.ClientFilter{OwnerUserID: u1.ID, Name: "alpha app"}, all, nil, 0},
		{"name contains, any case", grantd.ClientFilter{OwnerUserID: u1.ID, NameContains: "ALPHA"}, all, []string{"c-B", "c-1"}, 2},
		{"name contains, non-ASCII case", grantd.ClientFilter{OwnerUserID: u1.ID, NameContains: "éCOLE"}, all, []string{"c-a"}, 1},
		{"name contains % literally", grantd.ClientFilter{OwnerUserID: u1.ID, NameContains: "%"}, all, []string{"c-3"}, 1},
		{"name contains _ literally", grantd.ClientFilter{OwnerUserID: u1.ID, NameContains: "a_a"}, all, []string{"c-2"}, 1},
		{"name contains \\ literally", grantd.ClientFilter{OwnerUserID: u1.ID, NameContains: `\`}, all, nil, 0},
		{"client id", grantd.ClientFilter{OwnerUserID: u1.ID, ClientID: "c-3"}, all, []string{"c-3"}, 1},
		{"client id of another owner", grantd.ClientFilter{OwnerUserID: u1.ID, ClientID: "d-1"}, all, nil, 0},
		{"grant type", grantd.ClientFilter{OwnerUserID: u1.ID, GrantTypeContains: grantd.GrantClientCredentials}, all, []string{"c-5", "c-3"}, 2},
		{"grant type is a whole element", grantd.ClientFilter{OwnerUserID: u1.ID, GrantTypeContains: "token"}, all, nil, 0},
		{"verified", grantd.ClientFilter{OwnerUserID: u1.ID, Verified: ptr(true)}, all, []string{"c-B", "c-a"}, 2},
		{"not verified", grantd.ClientFilter{OwnerUserID: u1.ID, Verified: ptr(false)}, all, []string{"c-5", "c-3", "c-2", "c-1"}, 4},
		{"combined", grantd.ClientFilter{OwnerUserID: u1.ID, ClientType: grantd.ClientConfidential, GrantTypeContains: grantd.GrantRefreshToken, NameContains: "L"}, page(1, 1), []string{"c-a"}, 2},
	}
	for _, tc := range tests {
		got, total, err := e.s.ListClients(e.ctx, tc.f, tc.p)
		e.ok(err, "list clients: "+tc.name)
		e.equal("ListClients "+tc.name, clientIDs(got), tc.want)
		if total != tc.total {
			e.t.Errorf("ListClients %s: total = %d, want %d", tc.name, total, tc.total)
		}
	}

	// Listed clients are whole.
	got, _, err := e.s.ListClients(e.ctx, grantd.ClientFilter{ClientID: "c-B"}, all)
	e.ok(err, "list one client")
	want, err := e.s.GetClient(e.ctx, "c-B")
	e.ok(err, "get client")
	e.equal("listed client", got, []grantd.Client{want})
}

// testDeleteClientCascades checks that deleting a client takes everything
// under it, and revokes the access tokens issued under it, but nothing of
// another client.
func testDeleteClientCascades(e env) {
	u := e.user(1)
	c1 := e.client(newClient("client-1", u))
	c2 := e.client(newClient("client-2", u))
	g1 := e.grant(1, u, c1)
	g2 := e.grant(2, u, c2)

	cs1 := e.consent("one", u, c1)
	cs2 := e.consent("two", u, c2)
	e.code("unused-one", g1)
	e.code("unused-two", g2)
	_, rt1 := e.redeem("one", g1, at(time.Second), true)
	rt1b := e.rotate(*rt1, "one-b", at(2*time.Second))
	// An access token recorded only on its code (no refresh token).
	codeOnly, _ := e.redeem("one-norefresh", g1, at(time.Second), false)
	_, rt2 := e.redeem("two", g2, at(time.Second), true)

	e.ok(e.s.DeleteClient(e.ctx, c1.ID), "delete client")

	_, err := e.s.GetGrant(e.ctx, g1.ID)
	e.is(err, grantd.ErrNotFound, "get grant of deleted client")
	_, err = e.s.GetGrantByUserClient(e.ctx, u.ID, c1.ID)
	e.is(err, grantd.ErrNotFound, "get grant of deleted client by user and client")
	_, err = e.s.GetConsent(e.ctx, cs1.Hash)
	e.is(err, grantd.ErrNotFound, "get consent of deleted client")
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, hash("code-unused-one"), at(3*time.Second), issueFor("x", g1, at(3*time.Second), true))
	e.is(err, grantd.ErrNotFound, "redeem code of deleted client")
	e.wantRefresh(false, *rt1, rt1b)
	e.wantRevoked(true, rt1.AccessJTI, rt1b.AccessJTI, codeOnly.AccessJTI)

	// The other client is untouched.
	_, err = e.s.GetClient(e.ctx, c2.ID)
	e.ok(err, "get other client")
	_, err = e.s.GetGrant(e.ctx, g2.ID)
	e.ok(err, "get other grant")
	_, err = e.s.GetConsent(e.ctx, cs2.Hash)
	e.ok(err, "get other consent")
	e.wantRefresh(true, *rt2)
	e.wantRevoked(false, rt2.AccessJTI)
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, hash("code-unused-two"), at(3*time.Second), issueFor("unused-two", g2, at(3*time.Second), false))
	e.ok(err, "redeem other client's code")
}
