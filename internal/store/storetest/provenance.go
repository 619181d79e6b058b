package storetest

import (
	"time"

	"github.com/grantd/grantd"
)

// testClientProvenance: a client records the client and grant it was
// created through, keeps them whatever an update says, and can be listed
// by that grant; a provenance naming no row is ErrNotFound.
func testClientProvenance(e env) {
	alice, bob := e.user(1), e.user(2)
	app := e.client(newClient("app", bob))
	g := e.grant(1, alice, app)

	made := newClient("made", alice)
	made.CreatedByClientID, made.CreatedByGrantID = app.ID, g.ID
	e.client(made)
	got, err := e.s.GetClient(e.ctx, made.ID)
	e.ok(err, "get client")
	e.equal("client created through a grant", got, made)

	// A client_credentials token has no grant.
	byToken := newClient("by-token", bob)
	byToken.CreatedByClientID = app.ID
	e.client(byToken)
	got, err = e.s.GetClient(e.ctx, byToken.ID)
	e.ok(err, "get client")
	e.equal("client created through a client_credentials token", got, byToken)

	want := made
	want.Name = "Renamed"
	got, err = e.s.UpdateClient(e.ctx, made.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Name = "Renamed"
		c.CreatedByClientID, c.CreatedByGrantID = "", ""
		return c, nil
	})
	e.ok(err, "update client")
	e.equal("provenance after an update that cleared it", got, want)

	other := e.client(newClient("other", alice))
	list, total, err := e.s.ListClients(e.ctx, grantd.ClientFilter{OwnerUserID: alice.ID, CreatedByGrantID: g.ID}, grantd.Page{Number: 1, Size: 10})
	e.ok(err, "list clients created through a grant")
	e.equal("clients created through the grant", clientIDs(list), []string{made.ID})
	if total != 1 {
		e.t.Errorf("total = %d, want 1", total)
	}
	list, _, err = e.s.ListClients(e.ctx, grantd.ClientFilter{OwnerUserID: alice.ID}, grantd.Page{Number: 1, Size: 10})
	e.ok(err, "list clients")
	e.equal("alice's clients (same time: by id)", clientIDs(list), []string{made.ID, other.ID})

	// The app or grant was removed while the creation was under way.
	orphan := newClient("orphan-grant", alice)
	orphan.CreatedByClientID, orphan.CreatedByGrantID = app.ID, uuid(kindGrant, 99)
	e.is(e.s.CreateClient(e.ctx, orphan), grantd.ErrNotFound, "create client through a missing grant")
	orphan = newClient("orphan-client", alice)
	orphan.CreatedByClientID = "missing"
	e.is(e.s.CreateClient(e.ctx, orphan), grantd.ErrNotFound, "create client through a missing client")
	_, err = e.s.GetClient(e.ctx, orphan.ID)
	e.is(err, grantd.ErrNotFound, "get a client whose creation failed")
}

// testDeleteGrantDeletesClientsMade: revoking a person's grant to an app
// deletes every client created through the grant's tokens, and through
// those clients in turn, each as DeleteClient deletes (grants, codes,
// refresh tokens gone, access tokens revoked), in the same transaction;
// what the app made through its own client_credentials token, and
// everything else, stays.
func testDeleteGrantDeletesClientsMade(e env) {
	alice, bob := e.user(1), e.user(2)
	app := e.client(newClient("app", bob))
	g := e.grant(1, alice, app)
	_, appRT := e.redeem("app", g, at(time.Second), true)

	made := newClient("made", alice)
	made.CreatedByClientID, made.CreatedByGrantID = app.ID, g.ID
	e.client(made)
	// made, used in turn: alice approved it too, and its tokens made
	// two more clients, one through that grant, one by client_credentials.
	gMade := e.grant(2, alice, made)
	_, madeRT := e.redeem("made", gMade, at(2*time.Second), true)
	cs := e.consent("made", alice, made)
	grandchild := newClient("grandchild", alice)
	grandchild.CreatedByClientID, grandchild.CreatedByGrantID = made.ID, gMade.ID
	e.client(grandchild)
	byMadeToken := newClient("by-made-token", alice)
	byMadeToken.CreatedByClientID = made.ID
	e.client(byMadeToken)
	gGrand := e.grant(3, alice, grandchild)
	codeOnly, _ := e.redeem("grandchild", gGrand, at(3*time.Second), false)

	// Untouched: what the app made through its own token, the app's other
	// grant, and another of alice's clients with its tokens.
	byAppToken := newClient("by-app-token", bob)
	byAppToken.CreatedByClientID = app.ID
	e.client(byAppToken)
	gBob := e.grant(4, bob, app)
	own := e.client(newClient("own", alice))
	gOwn := e.grant(5, alice, own)
	_, ownRT := e.redeem("own", gOwn, at(time.Second), true)

	e.ok(e.s.DeleteGrant(e.ctx, g.ID), "delete grant")

	for _, id := range []string{made.ID, grandchild.ID, byMadeToken.ID} {
		_, err := e.s.GetClient(e.ctx, id)
		e.is(err, grantd.ErrNotFound, "get client "+id+" made through the deleted grant")
	}
	for _, id := range []string{g.ID, gMade.ID, gGrand.ID} {
		_, err := e.s.GetGrant(e.ctx, id)
		e.is(err, grantd.ErrNotFound, "get grant "+id)
	}
	_, err := e.s.GetConsent(e.ctx, cs.Hash)
	e.is(err, grantd.ErrNotFound, "get consent of a client made through the deleted grant")
	e.wantRefresh(false, *appRT, *madeRT)
	e.wantRevoked(true, appRT.AccessJTI, madeRT.AccessJTI, codeOnly.AccessJTI)

	for _, id := range []string{app.ID, byAppToken.ID, own.ID} {
		_, err := e.s.GetClient(e.ctx, id)
		e.ok(err, "get client "+id)
	}
	for _, id := range []string{gBob.ID, gOwn.ID} {
		_, err := e.s.GetGrant(e.ctx, id)
		e.ok(err, "get grant "+id)
	}
	e.wantRefresh(true, *ownRT)
	e.wantRevoked(false, ownRT.AccessJTI)
}

// testDeleteClientDeletesClientsMade: deleting an app deletes every
// client created through any of its tokens, and through those in turn,
// with what was issued under them.
func testDeleteClientDeletesClientsMade(e env) {
	alice, bob := e.user(1), e.user(2)
	app := e.client(newClient("app", bob))
	g := e.grant(1, alice, app)

	viaGrant := newClient("via-grant", alice)
	viaGrant.CreatedByClientID, viaGrant.CreatedByGrantID = app.ID, g.ID
	e.client(viaGrant)
	viaToken := newClient("via-token", bob)
	viaToken.CreatedByClientID = app.ID
	e.client(viaToken)
	gVia := e.grant(2, alice, viaToken)
	_, viaRT := e.redeem("via", gVia, at(time.Second), true)
	deeper := newClient("deeper", bob)
	deeper.CreatedByClientID = viaToken.ID
	e.client(deeper)
	own := e.client(newClient("own", alice))

	e.ok(e.s.DeleteClient(e.ctx, app.ID), "delete client")

	for _, id := range []string{app.ID, viaGrant.ID, viaToken.ID, deeper.ID} {
		_, err := e.s.GetClient(e.ctx, id)
		e.is(err, grantd.ErrNotFound, "get client "+id)
	}
	_, err := e.s.GetGrant(e.ctx, gVia.ID)
	e.is(err, grantd.ErrNotFound, "get grant of a client made through the deleted one")
	e.wantRefresh(false, *viaRT)
	e.wantRevoked(true, viaRT.AccessJTI)
	_, err = e.s.GetClient(e.ctx, own.ID)
	e.ok(err, "get unrelated client")
}
