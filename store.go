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
// UTF-8). Time is always passed in, and kept to the microsecond: a time
// is answered in UTC with finer digits dropped (truncated, as
// time.UnixMicro(t.UnixMicro()) does), and an empty list as nil. Every
// method gives up when ctx ends (a deadline, a cancellation), also while
// it waits for a lock or a connection, and answers an error wrapping
// ErrUnavailable then.
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
	// GetAPIKeyUser is GetAPIKeyByHash and GetUser of the key's owner in
	// one read, as every request made with an API key needs both;
	// ErrNotFound when there is no such key.
	GetAPIKeyUser(ctx context.Context, hash string) (APIKey, User, error)
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
	// MarkClientUsed sets ObtainedToken of the client, writing only if it
	// is not set yet; an unknown id is not an error.
	MarkClientUsed(ctx context.Context, id string) error
	// DeleteUnusedRegistrations deletes, each as DeleteClient does, the
	// clients of OriginRegistration created before createdBefore that
	// never obtained a token and have no grant (so no refresh token), and
	// answers their ids.
	DeleteUnusedRegistrations(ctx context.Context, createdBefore time.Time) ([]string, error)
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
	// TouchGrant sets last_used_at to now, unless it already lies less
	// than a second before now: a grant in constant use is written at
	// most once a second. A missing grant is ErrNotFound either way.
	TouchGrant(ctx context.Context, id string, now time.Time) error

	// Consents, by hash of the consent token.
	CreateConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, hash string) (Consent, error)

	// Authorization codes, by hash of the code.
	CreateAuthCode(ctx context.Context, c AuthCode) error

	// Device authorizations (RFC 8628), by hash of the device code;
	// UserCodeHash is unique (ErrAlreadyExists).
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	// GetDeviceCodeByUserCode answers the device authorization whose
	// user code has the hash, expired or not.
	GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (DeviceCode, error)

	// Refresh tokens, by hash of the token. A token revoked by reuse
	// detection or by its code's second use is ErrNotFound to
	// GetRefreshToken and RevokeRefreshToken.
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)

	// InGrant runs fn in one write transaction, the unit of work of a
	// grant: redeeming a code, rotating a refresh token, deciding a
	// consent. The store offers mechanics only (GrantTx); what they mean
	// (what reuse revokes, the grace window) is the engine's to decide.
	// fn answering nil commits everything it wrote; an error is
	// returned as it is and nothing is written. Reading a code, a
	// refresh token or a consent through tx locks it and the grant it
	// belongs to (a consent: its user's grant for its client) until the
	// end, so that concurrent units of work on one grant take turns and
	// each sees what the one before committed. A backend may run fn
	// again from the start (PostgreSQL, after a deadlock or a grant
	// created concurrently), so fn sets every result it hands out on
	// each run.
	InGrant(ctx context.Context, fn func(tx GrantTx) error) error

	// RevokeRefreshToken deletes the token and revokes the access token
	// issued with it.
	RevokeRefreshToken(ctx context.Context, hash string) error

	// RecordExchangedToken records an access token issued by token
	// exchange and sets its grant's last_used_at to now, in one
	// transaction: from then on RevokeGrantTokens, DeleteGrant and
	// DeleteClient (of the grant's client or of the exchanging client)
	// revoke its jti as they revoke the tokens recorded on codes and
	// refresh tokens. A grant or client that does not exist (removed
	// meanwhile) is ErrNotFound, and nothing is written.
	RecordExchangedToken(ctx context.Context, t ExchangedToken, now time.Time) error

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

	// DeleteExpired removes consents, codes, device codes, refresh tokens, sessions,
	// exchanged token records, revoked jtis and signing keys whose time
	// has passed, and the change feed's old rows, each kind in batches of
	// DefaultExpiredBatch rows (DeleteExpiredBatch). A used
	// code stays while the access token of its first use lives, so that a
	// late second use still revokes.
	DeleteExpired(ctx context.Context, now time.Time) error
	// DeleteExpiredBatch removes at most limit rows of one kind that
	// DeleteExpired would remove, in one short transaction, and answers
	// how many it removed: fewer than limit means none was left. Garbage
	// collection calls it until then, so that a large backlog is removed
	// in many small transactions rather than one that holds its locks
	// for long. An unknown kind or a limit below 1 is an error.
	DeleteExpiredBatch(ctx context.Context, kind ExpiredKind, now time.Time, limit int) (int, error)
}

// ExpiredKind names one kind of row that garbage collection removes.
type ExpiredKind string

// The kinds of expired rows (DeleteExpiredBatch).
const (
	ExpiredConsents      ExpiredKind = "consents"
	ExpiredAuthCodes     ExpiredKind = "auth_codes"
	ExpiredRefreshTokens ExpiredKind = "refresh_tokens"
	ExpiredSessions      ExpiredKind = "sessions"
	ExpiredRevokedJTIs   ExpiredKind = "revoked_jtis"
	ExpiredSigningKeys   ExpiredKind = "signing_keys"
	// ExpiredDeviceCodes: device authorization requests (RFC 8628) past
	// their expiry, used or not.
	ExpiredDeviceCodes ExpiredKind = "device_codes"
	// ExpiredExchangedTokens: the records of exchanged access tokens
	// (RecordExchangedToken) whose tokens have expired.
	ExpiredExchangedTokens ExpiredKind = "exchanged_tokens"
	// ExpiredChanges: the change feed's rows older than an hour, by the
	// database's clock (now does not apply to them).
	ExpiredChanges ExpiredKind = "changes"
)

// ExpiredKinds answers every kind, in the order garbage collection
// removes them.
func ExpiredKinds() []ExpiredKind {
	return []ExpiredKind{ExpiredConsents, ExpiredDeviceCodes, ExpiredAuthCodes, ExpiredRefreshTokens, ExpiredSessions, ExpiredExchangedTokens, ExpiredRevokedJTIs, ExpiredSigningKeys, ExpiredChanges}
}

// DefaultExpiredBatch is how many rows one DeleteExpiredBatch call of
// garbage collection removes at most.
const DefaultExpiredBatch = 1000

// GrantTx is what a unit of work (Store.InGrant) may do: read and lock,
// and write, the rows of one grant. Each method is one mechanical step; a
// method given a key that matches no row answers ErrNotFound. Methods use
// the transaction, and the context, of InGrant (so they end when that
// context ends) and must not be called after fn returned.
type GrantTx interface {
	// AuthCode reads the code, used or not.
	AuthCode(hash string) (AuthCode, error)
	// UseAuthCode marks the code used at now with what its redemption
	// issued. AccessExpiresAt must be set with AccessJTI (a revocation
	// lasts until then).
	UseAuthCode(hash string, now time.Time, familyID, accessJTI string, accessExpiresAt *time.Time) error
	// CreateAuthCode stores a new code (under a grant of this unit).
	CreateAuthCode(c AuthCode) error

	// RefreshToken reads the token, rotated or not, and whether it was
	// revoked (a revoked row is kept only so that its reuse is seen).
	RefreshToken(hash string) (t RefreshToken, revoked bool, err error)
	// CreateRefreshToken stores a new refresh token.
	CreateRefreshToken(t RefreshToken) error
	// RotateRefreshToken marks the token rotated at now into the
	// successor with the hash successorHash.
	RotateRefreshToken(hash string, now time.Time, successorHash string) error
	// RevokeFamily revokes, at now, every refresh token of the family and
	// the access tokens issued with them.
	RevokeFamily(familyID string, now time.Time) error
	// RevokeGrantTokens revokes, at now, every refresh token of the grant
	// and every access token issued under it (by its codes, its refresh
	// tokens and token exchange). The grant and its codes stay.
	RevokeGrantTokens(grantID string, now time.Time) error
	// RevokeJTI revokes one access token until expiresAt, as
	// Store.RevokeJTI does.
	RevokeJTI(jti string, expiresAt time.Time) error

	// Consent reads the consent, used or not.
	Consent(hash string) (Consent, error)
	// UseConsent marks the consent used at now.
	UseConsent(hash string, now time.Time) error

	// DeviceCode reads, and locks, the device authorization (and, once
	// approved, its grant first).
	DeviceCode(hash string) (DeviceCode, error)
	// UpdateDeviceCode writes the mutable fields of d (Interval,
	// LastPolledAt, Status, UserID, GrantID, UsedAt) over the device
	// authorization with d's Hash.
	UpdateDeviceCode(d DeviceCode) error

	// GrantByUserClient reads, and locks, the user's grant for the client.
	GrantByUserClient(userID, clientID string) (Grant, error)
	// CreateGrant stores a new grant; (UserID, ClientID) is unique.
	CreateGrant(g Grant) error
	// UpdateGrant writes g over the grant with g's ID.
	UpdateGrant(g Grant) error
	// TouchGrant sets the grant's last_used_at as Store.TouchGrant does
	// (not within a second of the recorded one).
	TouchGrant(id string, now time.Time) error
}

// More sentinels for single-use things.
var (
	// ErrAlreadyUsed: a consent token or authorization code was used before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrReused: a rotated-out refresh token was presented again.
	ErrReused = errors.New("refresh token reused")
)
