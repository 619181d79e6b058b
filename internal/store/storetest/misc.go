package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

func testRevokedJTIs(e env) {
	e.wantRevoked(false, "jti-unknown")
	e.ok(e.s.RevokeJTI(e.ctx, "jti-one", at(time.Hour)), "revoke jti")
	e.wantRevoked(true, "jti-one")
	e.wantRevoked(false, "jti-unknown")

	// Revoking again is no error, and the revocation lasts until the later
	// of the two expiries.
	e.ok(e.s.RevokeJTI(e.ctx, "jti-one", at(2*time.Hour)), "revoke jti again, later")
	e.ok(e.s.RevokeJTI(e.ctx, "jti-one", at(time.Minute)), "revoke jti again, earlier")
	e.ok(e.s.DeleteExpired(e.ctx, at(90*time.Minute)), "delete expired")
	e.wantRevoked(true, "jti-one")
	e.ok(e.s.DeleteExpired(e.ctx, at(3*time.Hour)), "delete expired")
	e.wantRevoked(false, "jti-one")
}

func testSessions(e env) {
	u := e.user(1)
	s := grantd.Session{
		Hash:      hash("grantd_session_one"),
		UserID:    u.ID,
		CSRFToken: "csrf-one",
		CreatedAt: at(0),
		ExpiresAt: at(12 * time.Hour),
	}
	e.ok(e.s.CreateSession(e.ctx, s), "create session")
	got, err := e.s.GetSession(e.ctx, s.Hash)
	e.ok(err, "get session")
	e.equal("GetSession", got, s)
	e.is(e.s.CreateSession(e.ctx, s), grantd.ErrAlreadyExists, "create session with a taken hash")
	_, err = e.s.GetSession(e.ctx, hash("grantd_session_missing"))
	e.is(err, grantd.ErrNotFound, "get missing session")

	other := s
	other.Hash = hash("grantd_session_two")
	other.ExpiresAt = at(-time.Hour) // expired: still answered
	e.ok(e.s.CreateSession(e.ctx, other), "create expired session")
	got, err = e.s.GetSession(e.ctx, other.Hash)
	e.ok(err, "get expired session")
	e.equal("expired session", got, other)

	e.ok(e.s.DeleteSession(e.ctx, s.Hash), "delete session")
	_, err = e.s.GetSession(e.ctx, s.Hash)
	e.is(err, grantd.ErrNotFound, "get deleted session")
	e.is(e.s.DeleteSession(e.ctx, s.Hash), grantd.ErrNotFound, "delete deleted session")
	_, err = e.s.GetSession(e.ctx, other.Hash)
	e.ok(err, "get the other session")
}

func testSigningKeys(e env) {
	keys, err := e.s.ListSigningKeys(e.ctx)
	e.ok(err, "list signing keys of an empty store")
	if len(keys) != 0 {
		e.t.Fatalf("ListSigningKeys on an empty store answered %d keys", len(keys))
	}

	older := grantd.SigningKey{
		ID:         "key-2030-01",
		Algorithm:  "ES256",
		PrivateEnc: []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		PublicJWK:  []byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"key-2030-01"}`),
		CreatedAt:  at(0),
		ActiveAt:   at(0),
	}
	// Created later, under an id that sorts first.
	newer := grantd.SigningKey{
		ID:         "a-key-2030-02",
		Algorithm:  "EdDSA",
		PrivateEnc: []byte("sealed"),
		PublicJWK:  []byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
		CreatedAt:  at(time.Hour),
		ActiveAt:   at(2 * time.Hour), // published before it signs
	}
	e.ok(e.s.CreateSigningKey(e.ctx, newer), "create signing key")
	e.ok(e.s.CreateSigningKey(e.ctx, older), "create signing key")
	e.is(e.s.CreateSigningKey(e.ctx, older), grantd.ErrAlreadyExists, "create signing key with a taken id")

	keys, err = e.s.ListSigningKeys(e.ctx)
	e.ok(err, "list signing keys")
	e.equal("ListSigningKeys, oldest first", keys, []grantd.SigningKey{older, newer})

	// Retiring the older key when the newer one takes over.
	retired := older
	retired.RetiredAt = ptr(at(2 * time.Hour))
	retired.ExpiresAt = ptr(at(2*time.Hour + 30*time.Minute))
	got, err := e.s.UpdateSigningKey(e.ctx, older.ID, func(old grantd.SigningKey) (grantd.SigningKey, error) {
		e.equal("updater's argument", old, older)
		old.RetiredAt = retired.RetiredAt
		old.ExpiresAt = retired.ExpiresAt
		return old, nil
	})
	e.ok(err, "update signing key")
	e.equal("UpdateSigningKey answer", got, retired)

	refused := failing("update signing key")
	_, err = e.s.UpdateSigningKey(e.ctx, older.ID, func(old grantd.SigningKey) (grantd.SigningKey, error) {
		old.RetiredAt = nil
		old.PrivateEnc = nil
		return old, refused
	})
	e.same(err, refused, "update signing key with a failing updater")

	called := false
	_, err = e.s.UpdateSigningKey(e.ctx, "missing", func(old grantd.SigningKey) (grantd.SigningKey, error) {
		called = true
		return old, nil
	})
	e.is(err, grantd.ErrNotFound, "update missing signing key")
	if called {
		e.t.Error("UpdateSigningKey called the updater for a missing key")
	}

	keys, err = e.s.ListSigningKeys(e.ctx)
	e.ok(err, "list signing keys")
	e.equal("signing keys after updates", keys, []grantd.SigningKey{retired, newer})
}

// testDeleteExpired checks that garbage collection removes exactly what
// expired before now, from every table it covers.
func testDeleteExpired(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	now := at(24 * time.Hour)
	past, future := now.Add(-time.Second), now.Add(time.Second)

	// Consents.
	oldConsent := newConsent("old", u, c)
	oldConsent.ExpiresAt = past
	e.ok(e.s.CreateConsent(e.ctx, oldConsent), "create consent")
	liveConsent := newConsent("live", u, c)
	liveConsent.ExpiresAt = future
	e.ok(e.s.CreateConsent(e.ctx, liveConsent), "create consent")

	// Codes: one expired unused, one expired used, one live.
	oldCode := newCode("old", g)
	oldCode.ExpiresAt = past
	e.ok(e.s.CreateAuthCode(e.ctx, oldCode), "create code")
	usedCode, _ := e.redeem("used", g, at(0), false) // code and access token long expired
	// Used, expired, but the access token of its first use still lives: a
	// late second use must still find it and revoke.
	usedLive := newCode("used-live", g)
	usedLive.ExpiresAt = past
	e.ok(e.s.CreateAuthCode(e.ctx, usedLive), "create code")
	_, err := oauth.RedeemAuthCode(e.ctx, e.s, usedLive.Hash, now.Add(-10*time.Minute), issueFor("used-live", g, now.Add(-10*time.Minute), false))
	e.ok(err, "redeem code")
	liveCode := newCode("live", g)
	liveCode.ExpiresAt = future
	e.ok(e.s.CreateAuthCode(e.ctx, liveCode), "create code")

	// Refresh tokens: issued with explicit expiries.
	redeemWith := func(name string, expires time.Time) grantd.RefreshToken {
		e.code(name, g)
		rt := newRefresh(name, "fam-"+name, g, at(0))
		rt.ExpiresAt = expires
		_, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-"+name), at(0), func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
			c.FamilyID, c.AccessJTI, c.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, ptr(rt.AccessExpiresAt)
			return c, &rt, nil
		})
		e.ok(err, "redeem code "+name)
		return rt
	}
	oldRT := redeemWith("rt-old", past)
	liveRT := redeemWith("rt-live", future)

	// Sessions.
	oldSession := grantd.Session{Hash: hash("session-old"), UserID: u.ID, CreatedAt: at(0), ExpiresAt: past}
	liveSession := grantd.Session{Hash: hash("session-live"), UserID: u.ID, CreatedAt: at(0), ExpiresAt: future}
	e.ok(e.s.CreateSession(e.ctx, oldSession), "create session")
	e.ok(e.s.CreateSession(e.ctx, liveSession), "create session")

	// Revoked jtis.
	e.ok(e.s.RevokeJTI(e.ctx, "jti-revoked-old", past), "revoke jti")
	e.ok(e.s.RevokeJTI(e.ctx, "jti-revoked-live", future), "revoke jti")

	// Signing keys: one expired, one retired but still published, one
	// active (no expiry).
	key := func(id string, expires *time.Time) grantd.SigningKey {
		k := grantd.SigningKey{ID: id, Algorithm: "ES256", PrivateEnc: []byte("p"), PublicJWK: []byte("{}"), CreatedAt: at(0), ActiveAt: at(0), ExpiresAt: expires}
		if expires != nil {
			k.RetiredAt = ptr(at(time.Hour))
		}
		e.ok(e.s.CreateSigningKey(e.ctx, k), "create signing key")
		return k
	}
	key("key-expired", &past)
	key("key-retired", &future)
	key("key-active", nil)

	e.ok(e.s.DeleteExpired(e.ctx, now), "delete expired")

	_, err = e.s.GetConsent(e.ctx, oldConsent.Hash)
	e.is(err, grantd.ErrNotFound, "get expired consent after GC")
	_, err = e.s.GetConsent(e.ctx, liveConsent.Hash)
	e.ok(err, "get live consent after GC")

	noIssue := func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		return c, nil, errors.New("issue must not run")
	}
	for _, code := range []grantd.AuthCode{oldCode, usedCode} {
		_, err = oauth.RedeemAuthCode(e.ctx, e.s, code.Hash, now, noIssue)
		e.is(err, grantd.ErrNotFound, "redeem expired code after GC")
	}
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, liveCode.Hash, now, issueFor("live", g, now, false))
	e.ok(err, "redeem live code after GC")
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, usedLive.Hash, now, noIssue)
	e.is(err, grantd.ErrAlreadyUsed, "second use of an expired code whose access token lives, after GC")
	e.wantRevoked(true, "jti-used-live")

	e.wantRefresh(false, oldRT)
	e.wantRefresh(true, liveRT)

	_, err = e.s.GetSession(e.ctx, oldSession.Hash)
	e.is(err, grantd.ErrNotFound, "get expired session after GC")
	_, err = e.s.GetSession(e.ctx, liveSession.Hash)
	e.ok(err, "get live session after GC")

	e.wantRevoked(false, "jti-revoked-old")
	e.wantRevoked(true, "jti-revoked-live")

	keys, err := e.s.ListSigningKeys(e.ctx)
	e.ok(err, "list signing keys after GC")
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	e.equal("signing keys after GC", ids, []string{"key-active", "key-retired"})

	// The grant itself does not expire.
	_, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant after GC")
}
