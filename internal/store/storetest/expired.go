package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// testDeleteExpiredBatch: DeleteExpiredBatch removes at most its limit of
// one kind's expired rows per call, never another kind's and never a live
// row, and answers how many it removed, so that calling it until it
// answers less than the limit removes a backlog larger than one batch.
func testDeleteExpiredBatch(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	now := at(24 * time.Hour)
	past, future := now.Add(-time.Second), now.Add(time.Second)
	const limit, expiredEach = 3, 7 // more than two batches of each kind
	want := map[grantd.ExpiredKind]int{}

	var liveConsents []grantd.Consent
	for i := range expiredEach + 2 {
		cs := newConsent(fmt.Sprint("batch-", i), u, c)
		cs.ExpiresAt = past
		if i >= expiredEach {
			cs.ExpiresAt = future
			liveConsents = append(liveConsents, cs)
		}
		e.ok(e.s.CreateConsent(e.ctx, cs), "create consent")
	}
	want[grantd.ExpiredConsents] = expiredEach

	var liveCodes []grantd.AuthCode
	for i := range expiredEach + 2 {
		code := newCode(fmt.Sprint("batch-", i), g)
		code.ExpiresAt = past
		if i >= expiredEach {
			code.ExpiresAt = future
			liveCodes = append(liveCodes, code)
		}
		e.ok(e.s.CreateAuthCode(e.ctx, code), "create code")
	}
	want[grantd.ExpiredAuthCodes] = expiredEach

	// Each refresh token comes from redeeming a code, used and long
	// expired with its access token: one more expired code each.
	var oldRTs, liveRTs []grantd.RefreshToken
	for i := range expiredEach + 2 {
		name := fmt.Sprint("batch-rt-", i)
		e.code(name, g)
		rt := newRefresh(name, "fam-"+name, g, at(0))
		rt.ExpiresAt = past
		if i >= expiredEach {
			rt.ExpiresAt = future
		}
		_, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-"+name), at(0), func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
			c.FamilyID, c.AccessJTI, c.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, ptr(rt.AccessExpiresAt)
			return c, &rt, nil
		})
		e.ok(err, "redeem code "+name)
		if i >= expiredEach {
			liveRTs = append(liveRTs, rt)
		} else {
			oldRTs = append(oldRTs, rt)
		}
		want[grantd.ExpiredAuthCodes]++
	}
	want[grantd.ExpiredRefreshTokens] = expiredEach

	var liveSessions []string
	for i := range expiredEach + 2 {
		s := grantd.Session{Hash: hash(fmt.Sprint("session-batch-", i)), UserID: u.ID, CreatedAt: at(0), ExpiresAt: past}
		if i >= expiredEach {
			s.ExpiresAt = future
			liveSessions = append(liveSessions, s.Hash)
		}
		e.ok(e.s.CreateSession(e.ctx, s), "create session")
	}
	want[grantd.ExpiredSessions] = expiredEach

	var oldJTIs, liveJTIs []string
	for i := range expiredEach + 2 {
		jti := fmt.Sprint("jti-batch-", i)
		if i >= expiredEach {
			e.ok(e.s.RevokeJTI(e.ctx, jti, future), "revoke jti")
			liveJTIs = append(liveJTIs, jti)
		} else {
			e.ok(e.s.RevokeJTI(e.ctx, jti, past), "revoke jti")
			oldJTIs = append(oldJTIs, jti)
		}
	}
	want[grantd.ExpiredRevokedJTIs] = expiredEach

	var liveKeys []string
	for i := range expiredEach + 2 {
		k := grantd.SigningKey{ID: fmt.Sprint("key-batch-", i), Algorithm: "ES256", PrivateEnc: []byte("p"), PublicJWK: []byte("{}"),
			CreatedAt: at(0), ActiveAt: at(time.Duration(i) * time.Second), RetiredAt: ptr(at(time.Hour)), ExpiresAt: ptr(past)}
		switch i {
		case expiredEach: // retired, still published
			k.ExpiresAt = ptr(future)
			liveKeys = append(liveKeys, k.ID)
		case expiredEach + 1: // signing: no retirement, no expiry
			k.RetiredAt, k.ExpiresAt = nil, nil
			liveKeys = append(liveKeys, k.ID)
		}
		e.ok(e.s.CreateSigningKey(e.ctx, k), "create signing key")
	}
	want[grantd.ExpiredSigningKeys] = expiredEach

	// Kind by kind: each call removes a whole batch while more than one
	// is left, then the rest, then nothing; the other kinds wait.
	for _, kind := range grantd.ExpiredKinds() {
		left, calls := want[kind], 0
		for {
			n, err := e.s.DeleteExpiredBatch(e.ctx, kind, now, limit)
			e.ok(err, "DeleteExpiredBatch "+string(kind))
			calls++
			if wantN := min(left, limit); n != wantN {
				e.t.Fatalf("DeleteExpiredBatch(%s) call %d removed %d, want %d (%d expired left)", kind, calls, n, wantN, left)
			}
			left -= n
			if n < limit {
				break
			}
		}
		if calls != want[kind]/limit+1 {
			e.t.Errorf("DeleteExpiredBatch(%s): %d calls for %d rows in batches of %d", kind, calls, want[kind], limit)
		}
	}

	// Nothing live went, everything expired did.
	for _, cs := range liveConsents {
		_, err := e.s.GetConsent(e.ctx, cs.Hash)
		e.ok(err, "get live consent after GC")
	}
	_, err := e.s.GetConsent(e.ctx, newConsent("batch-0", u, c).Hash)
	e.is(err, grantd.ErrNotFound, "get an expired consent after GC")
	noIssue := func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		return c, nil, fmt.Errorf("issue must not run")
	}
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, newCode("batch-0", g).Hash, now, noIssue)
	e.is(err, grantd.ErrNotFound, "redeem an expired code after GC")
	for i, code := range liveCodes {
		_, err := oauth.RedeemAuthCode(e.ctx, e.s, code.Hash, now, issueFor(fmt.Sprint("live-", i), g, now, false))
		e.ok(err, "redeem live code after GC")
	}
	e.wantRefresh(false, oldRTs...)
	e.wantRefresh(true, liveRTs...)
	for _, h := range liveSessions {
		_, err := e.s.GetSession(e.ctx, h)
		e.ok(err, "get live session after GC")
	}
	_, err = e.s.GetSession(e.ctx, hash("session-batch-0"))
	e.is(err, grantd.ErrNotFound, "get expired session after GC")
	e.wantRevoked(false, oldJTIs...)
	e.wantRevoked(true, liveJTIs...)
	keys, err := e.s.ListSigningKeys(e.ctx)
	e.ok(err, "list signing keys after GC")
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	e.equal("signing keys after GC", ids, liveKeys)

	// What the method refuses.
	if _, err := e.s.DeleteExpiredBatch(e.ctx, "grants", now, limit); err == nil {
		e.t.Error("DeleteExpiredBatch of an unknown kind: no error")
	}
	if _, err := e.s.DeleteExpiredBatch(e.ctx, grantd.ExpiredSessions, now, 0); err == nil {
		e.t.Error("DeleteExpiredBatch with limit 0: no error")
	}
}

// testDeleteExpiredManyBatches: DeleteExpired removes a backlog of more
// than one batch (grantd.DefaultExpiredBatch) of one kind, and keeps the
// live rows.
func testDeleteExpiredManyBatches(e env) {
	now := at(24 * time.Hour)
	n := grantd.DefaultExpiredBatch + 5
	for i := range n {
		e.ok(e.s.RevokeJTI(e.ctx, fmt.Sprint("jti-old-", i), now.Add(-time.Second)), "revoke jti")
	}
	e.ok(e.s.RevokeJTI(e.ctx, "jti-live", now.Add(time.Second)), "revoke jti")
	e.ok(e.s.DeleteExpired(e.ctx, now), "delete expired")
	e.wantRevoked(false, "jti-old-0", fmt.Sprint("jti-old-", grantd.DefaultExpiredBatch), fmt.Sprint("jti-old-", n-1))
	e.wantRevoked(true, "jti-live")
	left, err := e.s.DeleteExpiredBatch(e.ctx, grantd.ExpiredRevokedJTIs, now, n)
	e.ok(err, "DeleteExpiredBatch")
	if left != 0 {
		e.t.Fatalf("DeleteExpired left %d expired revoked jtis of %d", left, n)
	}
}
