package storetest

import (
	"time"

	"github.com/grantd/grantd"
)

func testUsers(e env) {
	u1 := e.user(1)

	got, err := e.s.GetUser(e.ctx, u1.ID)
	e.ok(err, "get user")
	e.equal("GetUser", got, u1)
	got, err = e.s.GetUserByEmail(e.ctx, u1.Email)
	e.ok(err, "get user by email")
	e.equal("GetUserByEmail", got, u1)

	// A second user of the same organisation reuses its row; a user of
	// another organisation creates one.
	u2 := e.user(2)
	u3 := newUser(3)
	u3.OrgID = uuid(kindOrg, 2)
	u3.PasswordHash = "" // cannot sign in to the web pages
	e.ok(e.s.CreateUser(e.ctx, u3), "create user in a new organisation")
	got, err = e.s.GetUser(e.ctx, u3.ID)
	e.ok(err, "get user")
	e.equal("GetUser (new organisation, no password)", got, u3)

	dup := newUser(4)
	dup.Email = u2.Email
	e.is(e.s.CreateUser(e.ctx, dup), grantd.ErrAlreadyExists, "create user with a taken email")
	dup = newUser(1)
	dup.Email = "other@example.com"
	e.is(e.s.CreateUser(e.ctx, dup), grantd.ErrAlreadyExists, "create user with a taken id")

	_, err = e.s.GetUser(e.ctx, uuid(kindUser, 99))
	e.is(err, grantd.ErrNotFound, "get missing user")
	_, err = e.s.GetUserByEmail(e.ctx, "nobody@example.com")
	e.is(err, grantd.ErrNotFound, "get user by missing email")
}

func testUserUpdates(e env) {
	u1 := e.user(1)
	u2 := e.user(2)

	want := u1
	want.PasswordHash = "$argon2id$v=19$m=65536,t=1,p=4$bmV3c2FsdA$bmV3aGFzaA"
	want.UpdatedAt = at(time.Hour)
	got, err := e.s.UpdateUser(e.ctx, u1.ID, func(old grantd.User) (grantd.User, error) {
		e.equal("updater's argument", old, u1)
		old.PasswordHash = want.PasswordHash
		old.UpdatedAt = want.UpdatedAt
		return old, nil
	})
	e.ok(err, "update user")
	e.equal("UpdateUser answer", got, want)
	got, err = e.s.GetUser(e.ctx, u1.ID)
	e.ok(err, "get user")
	e.equal("user after update", got, want)

	// An updater's error is returned as it is and nothing is written.
	refused := failing("update user")
	_, err = e.s.UpdateUser(e.ctx, u1.ID, func(old grantd.User) (grantd.User, error) {
		old.Email = "changed@example.com"
		return old, refused
	})
	e.same(err, refused, "update user with a failing updater")
	got, err = e.s.GetUser(e.ctx, u1.ID)
	e.ok(err, "get user")
	e.equal("user after a failed update", got, want)

	_, err = e.s.UpdateUser(e.ctx, u1.ID, func(old grantd.User) (grantd.User, error) {
		old.Email = u2.Email
		return old, nil
	})
	e.is(err, grantd.ErrAlreadyExists, "update user to a taken email")
	got, err = e.s.GetUser(e.ctx, u1.ID)
	e.ok(err, "get user")
	e.equal("user after a conflicting update", got, want)

	called := false
	_, err = e.s.UpdateUser(e.ctx, uuid(kindUser, 99), func(old grantd.User) (grantd.User, error) {
		called = true
		return old, nil
	})
	e.is(err, grantd.ErrNotFound, "update missing user")
	if called {
		e.t.Error("UpdateUser called the updater for a missing user")
	}

	// Moving a user to an organisation that has no row yet creates it.
	want = got
	want.OrgID = uuid(kindOrg, 7)
	want.Email = "moved@example.com"
	got, err = e.s.UpdateUser(e.ctx, u1.ID, func(old grantd.User) (grantd.User, error) {
		old.OrgID = want.OrgID
		old.Email = want.Email
		return old, nil
	})
	e.ok(err, "move user to a new organisation")
	e.equal("moved user", got, want)
	got, err = e.s.GetUserByEmail(e.ctx, "moved@example.com")
	e.ok(err, "get moved user by email")
	e.equal("moved user by email", got, want)
	_, err = e.s.GetUserByEmail(e.ctx, u1.Email)
	e.is(err, grantd.ErrNotFound, "get user by its old email")
}

func testAPIKeys(e env) {
	u := e.user(1)
	k := grantd.APIKey{
		ID:        uuid(kindAPIKey, 1),
		UserID:    u.ID,
		Name:      "laptop",
		Hash:      hash("grantd_key_one"),
		CreatedAt: at(0),
	}
	e.ok(e.s.CreateAPIKey(e.ctx, k), "create api key")
	got, err := e.s.GetAPIKeyByHash(e.ctx, k.Hash)
	e.ok(err, "get api key")
	e.equal("GetAPIKeyByHash", got, k)

	used := grantd.APIKey{
		ID:         uuid(kindAPIKey, 2),
		UserID:     u.ID,
		Hash:       hash("grantd_key_two"),
		CreatedAt:  at(0),
		LastUsedAt: ptr(at(time.Minute)),
	}
	e.ok(e.s.CreateAPIKey(e.ctx, used), "create api key with last_used_at")
	got, err = e.s.GetAPIKeyByHash(e.ctx, used.Hash)
	e.ok(err, "get api key")
	e.equal("GetAPIKeyByHash (used, no name)", got, used)

	dup := k
	dup.ID = uuid(kindAPIKey, 3)
	e.is(e.s.CreateAPIKey(e.ctx, dup), grantd.ErrAlreadyExists, "create api key with a taken hash")
	dup = k
	dup.Hash = hash("grantd_key_three")
	e.is(e.s.CreateAPIKey(e.ctx, dup), grantd.ErrAlreadyExists, "create api key with a taken id")

	_, err = e.s.GetAPIKeyByHash(e.ctx, hash("grantd_key_unknown"))
	e.is(err, grantd.ErrNotFound, "get missing api key")

	// The key and its owner in one read.
	gotKey, gotUser, err := e.s.GetAPIKeyUser(e.ctx, used.Hash)
	e.ok(err, "get api key with its user")
	e.equal("GetAPIKeyUser key", gotKey, used)
	e.equal("GetAPIKeyUser user", gotUser, u)
	_, _, err = e.s.GetAPIKeyUser(e.ctx, hash("grantd_key_unknown"))
	e.is(err, grantd.ErrNotFound, "get missing api key with its user")

	e.ok(e.s.TouchAPIKey(e.ctx, k.ID, at(time.Hour)), "touch api key")
	got, err = e.s.GetAPIKeyByHash(e.ctx, k.Hash)
	e.ok(err, "get api key")
	k.LastUsedAt = ptr(at(time.Hour))
	e.equal("api key after touch", got, k)
	e.is(e.s.TouchAPIKey(e.ctx, uuid(kindAPIKey, 99), at(time.Hour)), grantd.ErrNotFound, "touch missing api key")
}
