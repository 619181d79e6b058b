package storetest

import (
	"time"

	"github.com/grantd/grantd"
)

// registration answers a client as open registration makes it: no owner,
// OriginRegistration, created at created.
func registration(id string, created time.Duration) grantd.Client {
	c := newClient(id, grantd.User{})
	c.Registered, c.Origin = true, ""
	c.CreatedAt, c.UpdatedAt = at(created), at(created)
	return c
}

// testClientOrigin: an unset origin is stored from Registered; the
// origin and the used mark survive an update that clears them;
// MarkClientUsed sets the mark once and ignores unknown ids; the filter
// finds clients by origin and ownerless ones.
func testClientOrigin(e env) {
	alice := e.user(1)
	api := newClient("api", alice)
	api.Origin = ""
	e.client(api)
	reg := e.client(registration("reg", 0))
	for id, want := range map[string]grantd.ClientOrigin{api.ID: grantd.OriginAPI, reg.ID: grantd.OriginRegistration} {
		got, err := e.s.GetClient(e.ctx, id)
		e.ok(err, "get client")
		if got.Origin != want || got.ObtainedToken {
			e.t.Errorf("%s: origin %q used %v, want %q unused", id, got.Origin, got.ObtainedToken, want)
		}
	}
	e.ok(e.s.MarkClientUsed(e.ctx, reg.ID), "mark used")
	e.ok(e.s.MarkClientUsed(e.ctx, reg.ID), "mark used again")
	e.ok(e.s.MarkClientUsed(e.ctx, "missing"), "mark an unknown client used")
	got, err := e.s.UpdateClient(e.ctx, reg.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Origin, c.ObtainedToken = grantd.OriginAPI, false
		return c, nil
	})
	e.ok(err, "update client")
	if got.Origin != grantd.OriginRegistration || !got.ObtainedToken {
		e.t.Errorf("after an update: origin %q used %v, want registration, used", got.Origin, got.ObtainedToken)
	}
	list, total, err := e.s.ListClients(e.ctx, grantd.ClientFilter{Origin: grantd.OriginRegistration, Ownerless: true}, grantd.Page{Number: 1, Size: 10})
	e.ok(err, "list registrations")
	e.equal("ownerless registrations", clientIDs(list), []string{reg.ID})
	if total != 1 {
		e.t.Errorf("total = %d, want 1", total)
	}
	_, total, err = e.s.ListClients(e.ctx, grantd.ClientFilter{Ownerless: true}, grantd.Page{Number: 1, Size: 1})
	e.ok(err, "count ownerless")
	if total != 1 {
		e.t.Errorf("ownerless total = %d, want 1", total)
	}
}

// testDeleteUnusedRegistrations: only registrations older than the cut,
// that never obtained a token and hold no grant, are removed, with what
// was made through them; a client from the API never is.
func testDeleteUnusedRegistrations(e env) {
	alice := e.user(1)
	old := e.client(registration("old-unused", 0))
	e.client(registration("new-unused", 2*time.Hour))
	used := e.client(registration("old-used", 0))
	e.ok(e.s.MarkClientUsed(e.ctx, used.ID), "mark used")
	granted := e.client(registration("old-granted", 0))
	e.grant(1, alice, granted)
	apiClient := newClient("old-api", grantd.User{})
	apiClient.CreatedAt = at(0)
	e.client(apiClient)
	made := newClient("made-through-old", alice)
	made.CreatedByClientID = old.ID
	e.client(made)

	ids, err := e.s.DeleteUnusedRegistrations(e.ctx, at(time.Hour))
	e.ok(err, "delete unused registrations")
	e.equal("deleted", ids, []string{old.ID})
	for _, id := range []string{old.ID, made.ID} {
		_, err := e.s.GetClient(e.ctx, id)
		e.is(err, grantd.ErrNotFound, "get a deleted client")
	}
	for _, id := range []string{"new-unused", used.ID, granted.ID, apiClient.ID} {
		_, err := e.s.GetClient(e.ctx, id)
		e.ok(err, "get a kept client "+id)
	}
	ids, err = e.s.DeleteUnusedRegistrations(e.ctx, at(time.Hour))
	e.ok(err, "delete again")
	if len(ids) != 0 {
		e.t.Errorf("second pass deleted %v", ids)
	}
}
