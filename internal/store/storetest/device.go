package storetest

import (
	"errors"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

func newDeviceCode(name string, c grantd.Client) grantd.DeviceCode {
	return grantd.DeviceCode{
		Hash: hash("device-" + name), UserCodeHash: hash("user-code-" + name), ClientID: c.ID,
		Scopes: []string{"read", "write"}, Resource: resource, Interval: 5,
		CreatedAt: at(0), ExpiresAt: at(10 * time.Minute), Status: grantd.DevicePending,
	}
}

// storedDevice answers the device code as PollDeviceCode hands it to
// poll, without changing it (poll refuses).
func (e env) storedDevice(hash string) (grantd.DeviceCode, error) {
	e.t.Helper()
	var got grantd.DeviceCode
	refused := errors.New("peek")
	_, err := oauth.PollDeviceCode(e.ctx, e.s, hash, at(0), func(d grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error) {
		got = d
		return d, nil, refused
	})
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		return got, err
	case errors.Is(err, refused):
		return got, nil
	}
	return grantd.DeviceCode{}, err
}

// testDeviceCodes: device authorizations are stored, found by user code,
// unique by it, decided through a consent in one unit of work, polled
// (the poll remembered even when poll answers an error), redeemed once,
// and removed with their client and by DeleteExpired.
func testDeviceCodes(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	dc := newDeviceCode("one", c)
	e.ok(e.s.CreateDeviceCode(e.ctx, dc), "create device code")
	got, err := e.s.GetDeviceCodeByUserCode(e.ctx, dc.UserCodeHash)
	e.ok(err, "get device code by user code")
	e.equal("GetDeviceCodeByUserCode", got, dc)
	_, err = e.s.GetDeviceCodeByUserCode(e.ctx, hash("user-code-missing"))
	e.is(err, grantd.ErrNotFound, "get missing device code")
	taken := newDeviceCode("two", c)
	taken.UserCodeHash = dc.UserCodeHash
	e.is(e.s.CreateDeviceCode(e.ctx, taken), grantd.ErrAlreadyExists, "create device code with a taken user code")

	// A poll answering an error is remembered.
	pending := grantd.E(grantd.CodeAuthorizationPending, "pending")
	_, err = oauth.PollDeviceCode(e.ctx, e.s, dc.Hash, at(time.Second), func(d grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error) {
		d.LastPolledAt, d.Interval = ptr(at(time.Second)), 10
		return d, nil, pending
	})
	e.same(err, pending, "pending poll")
	polled, err := e.storedDevice(dc.Hash)
	e.ok(err, "read polled device code")
	want := dc
	want.LastPolledAt, want.Interval = ptr(at(time.Second)), 10
	e.equal("polled device code", polled, want)

	// A consent of the device authorization approves it under the grant.
	cs := newConsent("device", u, c)
	cs.RedirectURI, cs.CodeChallenge, cs.CodeChallengeMethod, cs.State = "", "", "", ""
	cs.DeviceCodeHash = dc.Hash
	e.ok(e.s.CreateConsent(e.ctx, cs), "create device consent")
	stored, err := e.s.GetConsent(e.ctx, cs.Hash)
	e.ok(err, "get device consent")
	e.equal("device consent", stored, cs)
	now := at(time.Minute)
	var grant grantd.Grant
	_, err = oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, g *grantd.Grant) (grantd.ConsentDecision, error) {
		d := decision(1, "unused", arg, g, now)
		grant = *d.Grant
		return grantd.ConsentDecision{Grant: d.Grant, Device: &grantd.DeviceCode{
			Hash: dc.Hash, ClientID: c.ID, Status: grantd.DeviceApproved, UserID: u.ID, GrantID: grant.ID,
		}}, nil
	})
	e.ok(err, "approve device code")
	approved, err := e.storedDevice(dc.Hash)
	e.ok(err, "read approved device code")
	want.Status, want.UserID, want.GrantID = grantd.DeviceApproved, u.ID, grant.ID
	e.equal("approved device code", approved, want)

	// Redeemed once: the refresh token stored, the grant touched.
	redeemAt := at(2 * time.Minute)
	rt := newRefresh("device", "fam-device", grant, redeemAt)
	issue := func(d grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error) {
		d.UsedAt = ptr(redeemAt)
		return d, &rt, nil
	}
	_, err = oauth.PollDeviceCode(e.ctx, e.s, dc.Hash, redeemAt, issue)
	e.ok(err, "redeem device code")
	_, err = e.s.GetRefreshToken(e.ctx, rt.Hash)
	e.ok(err, "refresh token of the redemption")
	g, err := e.s.GetGrant(e.ctx, grant.ID)
	e.ok(err, "get grant")
	if g.LastUsedAt == nil || !g.LastUsedAt.Equal(redeemAt) {
		e.t.Errorf("grant last_used_at = %v, want %v", g.LastUsedAt, redeemAt)
	}
	_, err = oauth.PollDeviceCode(e.ctx, e.s, dc.Hash, at(3*time.Minute), issue)
	e.is(err, grantd.ErrAlreadyUsed, "second redemption")

	// Deleting the client deletes its device codes; DeleteExpired the
	// expired ones.
	other := newDeviceCode("three", c)
	e.ok(e.s.CreateDeviceCode(e.ctx, other), "create another device code")
	c2 := e.client(newClient("client-2", u))
	kept := newDeviceCode("four", c2)
	kept.ExpiresAt = at(time.Hour)
	e.ok(e.s.CreateDeviceCode(e.ctx, kept), "create a device code of another client")
	e.ok(e.s.DeleteClient(e.ctx, c.ID), "delete client")
	_, err = e.s.GetDeviceCodeByUserCode(e.ctx, other.UserCodeHash)
	e.is(err, grantd.ErrNotFound, "device code of a deleted client")
	e.ok(e.s.DeleteExpired(e.ctx, at(30*time.Minute)), "delete expired")
	_, err = e.s.GetDeviceCodeByUserCode(e.ctx, kept.UserCodeHash)
	e.ok(err, "unexpired device code stays")
	e.ok(e.s.DeleteExpired(e.ctx, at(2*time.Hour)), "delete expired")
	_, err = e.s.GetDeviceCodeByUserCode(e.ctx, kept.UserCodeHash)
	e.is(err, grantd.ErrNotFound, "expired device code")
}

// testRaceRedeemDeviceCode: of concurrent redemptions of an approved
// device code exactly one succeeds.
func testRaceRedeemDeviceCode(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	dc := newDeviceCode("one", c)
	dc.Status, dc.UserID, dc.GrantID = grantd.DeviceApproved, u.ID, g.ID
	e.ok(e.s.CreateDeviceCode(e.ctx, dc), "create approved device code")
	now := at(time.Minute)
	errs := race(func(i int) error {
		_, err := oauth.PollDeviceCode(e.ctx, e.s, dc.Hash, now, func(d grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error) {
			d.UsedAt = ptr(now)
			return d, nil, nil
		})
		return err
	})
	e.oneWinner("PollDeviceCode", errs, grantd.ErrAlreadyUsed)
}
