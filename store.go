package grantd

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every Store returns, compared with errors.Is.
var (
	// ErrNotFound: no such row (or it has expired where the method says so).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique key is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnavailable: the database cannot do the work now, for a reason
	// that passes: it did not answer before the context ended (a frozen
	// or overloaded server, a lock held elsewhere, a full connection
	// pool), or it refuses for the time being (a full disk, a read-only
	// file or server, a server that is down or starting). Callers answer
	// 503 temporarily_unavailable, never 500; Wrap and AsError do so.
	ErrUnavailable = errors.New("database unavailable")
)

// Store is everything grantd keeps. Every backend (SQLite, PostgreSQL) runs
// the conformance suite in internal/store/storetest. Methods take value
// types and return copies; updaters run inside the backend's transaction,
// so they must not call the store themselves; an updater's error is
// returned as it is and nothing is written. A backend that retries a
// transaction (PostgreSQL, after a deadlock) may run an updater more than
// once, so updaters have no effect outside their return value. A method
// given a key that matches no row answers ErrNotFound (deletes and touches
// included), as does one given a key no row can have (a NUL byte, invalid
// UTF-8). Time is always passed in. Every method gives up when ctx ends
// (a deadline, a cancellation), also while it waits for a lock or a
// connection, and answers an error wrapping ErrUnavailable then.
type Store interface {
	// Ping answers nil while the database answers a read.
	Ping(ctx context.Context) error
	// Heartbeat makes the smallest committed write (one row, always the
	// same), so that a database that refuses writes (a full disk, a
	// read-only file, a read-only replica) says so: readiness probes it.
	Heartbeat(ctx context.Context, now time.Time) error
	Close() error

	// Users and organisations. CreateUser creates the user's organisation
	// row too when it does not exist. Email is unique (ErrAlreadyExists).
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) (User, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKeyByHash looks a key up by the hash of the presented key.
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// TouchAPIKey sets last_used_at.
	TouchAPIKey(ctx context.Context, id string, now time.Time) error

	// Clients. Deleting a client deletes its grants, codes, consents and
	// refresh tokens and revokes the access tokens issued under them
	// (RevokedJTI), in one transaction; and it deletes, in the same
	// transaction and in the same way, every client created through it
	// (CreatedByClientID), and through those, and so on.
	//
	// CreateClient answers ErrNotFound when CreatedByClientID or
	// CreatedByGrantID names no row (the app or grant was removed while
	// the call was under way); CreatedByGrantID requires
	// CreatedByClientID. UpdateClient keeps both whatever the updater
	// answers.
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) (Client, error)
	DeleteClient(ctx context.Context, id string) error
	// ListClients answers one page, newest first (ties broken by client_id,
	// ascending byte order), and the total number of matching clients.
	ListClients(ctx context.Context, f ClientFilter, p Page) ([]Client, int, error)

	// Grants. (UserID, ClientID) is unique (ErrAlreadyExists).
	CreateGrant(ctx context.Context, g Grant) error
	GetGrant(ctx context.Context, id string) (Grant, error)
	GetGrantByUserClient(ctx context.Context, userID, clientID string) (Grant, error)
	UpdateGrant(ctx context.Context, id string, update func(Grant) (Grant, error)) (Grant, error)
	// ListGrants answers the user's grants, newest first (ties broken by
	// id), and the total.
	ListGrants(ctx context.Context, userID string, p Page) ([]Grant, int, error)
	// DeleteGrant deletes the grant, its codes and refresh tokens and
	// revokes the access tokens issued under it (RevokedJTI) in one
	// transaction, together with every client created through it
	// (CreatedByGrantID), each deleted as DeleteClient does.
	DeleteGrant(ctx context.Context, id string) error
	// TouchGrant sets last_used_at.
	TouchGrant(ctx context.Context, id string, now time.Time) error

	// Consents, by hash of the consent token.
	CreateConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, hash string) (Consent, error)
	// DecideConsent records the user's decision on a pending request in
	// one transaction: it runs decide on the unused consent and the
	// user's grant for its client (nil when there is none), then marks
	// the consent used and stores what decide answered, all or nothing.
	// An error of decide, or of any write, leaves the consent unused and
	// nothing written. A consent already used answers it with UsedAt set
	// and ErrAlreadyUsed, without calling decide. Of concurrent
	// decisions on one consent exactly one is recorded; concurrent
	// decisions on two consents of one user and client see each other's
	// grant, so that there is never a second one.
	DecideConsent(ctx context.Context, hash string, now time.Time, decide func(Consent, *Grant) (ConsentDecision, error)) (Consent, error)

	// Authorization codes, by hash of the code.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode runs issue on the unused code inside a transaction and
	// stores what it returns: the code marked used (with FamilyID and
	// AccessJTI set) and, when non-nil, the first refresh token of the
	// family. If issue fails nothing is written. AccessExpiresAt must be set
	// with AccessJTI (a revocation lasts until then). A code already used
	// answers it with ErrAlreadyUsed after revoking everything its family
	// issued: the code's access token and every refresh token of the family
	// with its access token.
	RedeemAuthCode(ctx context.Context, hash string, now time.Time, issue func(AuthCode) (AuthCode, *RefreshToken, error)) (AuthCode, error)

	// Refresh tokens, by hash of the token. A token revoked by reuse
	// detection or by its code's second use is ErrNotFound to
	// GetRefreshToken and RevokeRefreshToken.
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken runs next on the presented token inside a
	// transaction; next validates it and returns its successor. The old
	// token is marked rotated (RotatedAt, and SuccessorHash naming the
	// successor), the successor stored and the grant's last_used_at set,
	// all or nothing.
	//
	// Presenting a rotated token again is reuse: every token under its
	// grant is revoked (the grant stays) and the answer is the presented
	// token with ErrReused. The one exception is a retry: when the token
	// was rotated no more than grace ago (zero grace: never) and its
	// successor is still live and not rotated itself, retry (when
	// non-nil) runs on the token and that successor instead of next.
	// retry answering nil answers the successor again, unchanged, and
	// writes nothing; an error wrapping ErrReused makes it reuse; any
	// other error is returned as it is and nothing is written. The window
	// counts from the first rotation, so retries cannot stretch it. A
	// revoked token answers ErrReused and revokes nothing more.
	RotateRefreshToken(ctx context.Context, hash string, now time.Time, grace time.Duration,
		next func(RefreshToken) (RefreshToken, error), retry func(old, succ RefreshToken) error) (RefreshToken, error)
	// RevokeRefreshToken deletes the token and revokes the access token
	// issued with it.
	RevokeRefreshToken(ctx context.Context, hash string) error

	// Revoked access tokens, by jti, kept until they would have expired.
	// Revoking a jti again is no error; the later expiry wins.
	RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error
	IsJTIRevoked(ctx context.Context, jti string) (bool, error)

	// Browser sessions, by hash of the session cookie.
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash string) (Session, error)
	DeleteSession(ctx context.Context, hash string) error

	// Signing keys. ListSigningKeys answers every key, oldest first.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, update func(SigningKey) (SigningKey, error)) (SigningKey, error)

	// DeleteExpired removes consents, codes, refresh tokens, sessions,
	// revoked jtis and signing keys whose time has passed. A used code
	// stays while the access token of its first use lives, so that a late
	// second use still revokes.
	DeleteExpired(ctx context.Context, now time.Time) error
}

// More sentinels for single-use things.
var (
	// ErrAlreadyUsed: a consent token or authorization code was used before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrReused: a rotated-out refresh token was presented again.
	ErrReused = errors.New("refresh token reused")
)
