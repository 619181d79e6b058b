package storetest

import (
	"time"

	"github.com/grantd/grantd"
)

// exchanged records an exchanged token of the grant, issued to c.
func (e env) exchanged(jti string, g grantd.Grant, c grantd.Client, now time.Time) grantd.ExchangedToken {
	e.t.Helper()
	t := grantd.ExchangedToken{JTI: jti, GrantID: g.ID, ClientID: c.ID, ExpiresAt: now.Add(30 * time.Minute)}
	e.ok(e.s.RecordExchangedToken(e.ctx, t, now), "record exchanged token "+jti)
	return t
}

// testExchangedTokens: an exchanged token recorded under a grant is
// revoked by whatever revokes the grant's tokens (RevokeGrantTokens,
// DeleteGrant, deleting the grant's client or the exchanging client),
// and by nothing else; recording touches the grant; a grant or client
// that does not exist is ErrNotFound.
func testExchangedTokens(e env) {
	u1, u2 := e.user(1), e.user(2)
	app := e.client(newClient("app", u1))
	mcp := e.client(newClient("mcp", u1))
	other := e.client(newClient("other", u2))
	g1 := e.grant(1, u1, app)
	g2 := e.grant(2, u2, app)
	g3 := e.grant(3, u2, other)

	// Recording touches the grant.
	x1 := e.exchanged("x1", g1, mcp, at(time.Minute))
	got, err := e.s.GetGrant(e.ctx, g1.ID)
	e.ok(err, "get grant")
	e.equal("last_used_at after recording", got.LastUsedAt, ptr(at(time.Minute)))

	// Unknown grant or client: nothing written.
	e.is(e.s.RecordExchangedToken(e.ctx, grantd.ExchangedToken{JTI: "nogrant", GrantID: uuid(kindGrant, 99), ClientID: mcp.ID, ExpiresAt: at(time.Hour)}, at(time.Minute)),
		grantd.ErrNotFound, "record under a missing grant")
	e.is(e.s.RecordExchangedToken(e.ctx, grantd.ExchangedToken{JTI: "noclient", GrantID: g2.ID, ClientID: "missing", ExpiresAt: at(time.Hour)}, at(time.Minute)),
		grantd.ErrNotFound, "record for a missing client")
	got, err = e.s.GetGrant(e.ctx, g2.ID)
	e.ok(err, "get grant")
	e.equal("last_used_at after a failed record", got.LastUsedAt, (*time.Time)(nil))

	// RevokeGrantTokens revokes the grant's exchanged tokens, not others.
	x2 := e.exchanged("x2", g2, mcp, at(time.Minute))
	x3 := e.exchanged("x3", g3, mcp, at(time.Minute))
	e.ok(e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error { return tx.RevokeGrantTokens(g1.ID, at(2*time.Minute)) }), "revoke grant tokens")
	e.wantRevoked(true, x1.JTI)
	e.wantRevoked(false, x2.JTI, x3.JTI)

	// DeleteGrant revokes its exchanged tokens.
	e.ok(e.s.DeleteGrant(e.ctx, g2.ID), "delete grant")
	e.wantRevoked(true, x2.JTI)
	e.wantRevoked(false, x3.JTI)

	// Deleting the exchanging client revokes what it exchanged; deleting
	// the client of a subject token's grant revokes what was exchanged
	// under that grant.
	g4 := e.grant(4, u1, other)
	x4 := e.exchanged("x4", g4, app, at(time.Minute))
	x5 := e.exchanged("x5", g4, other, at(time.Minute))
	e.ok(e.s.DeleteClient(e.ctx, mcp.ID), "delete the exchanging client")
	e.wantRevoked(true, x3.JTI)
	e.wantRevoked(false, x4.JTI, x5.JTI)
	e.ok(e.s.DeleteClient(e.ctx, other.ID), "delete the grant's client")
	e.wantRevoked(true, x4.JTI, x5.JTI)

	// The records go when their tokens expire; the revocations stay until
	// then too, and go with them.
	g5 := e.grant(5, e.user(3), app)
	x6 := e.exchanged("x6", g5, app, at(time.Minute))
	e.ok(e.s.DeleteExpired(e.ctx, x6.ExpiresAt.Add(time.Second)), "delete expired")
	e.ok(e.s.DeleteGrant(e.ctx, g5.ID), "delete grant after expiry")
	e.wantRevoked(false, x6.JTI)
}
