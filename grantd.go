// Package grantd holds the domain of the grantd OAuth 2.0 authorization
// server: its types, the Store interface every storage backend implements,
// and the one error type every layer returns. It imports only the standard
// library; adapters (storage, HTTP, CLI) import it, never the reverse.
package grantd

import (
	"errors"
	"slices"
	"time"
)

// ClientType is "public" or "confidential" (RFC 6749 §2.1).
type ClientType string

const (
	ClientPublic       ClientType = "public"
	ClientConfidential ClientType = "confidential"
)

// Grant types a client may be allowed.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	// GrantTokenExchange is RFC 8693's token exchange: a client trades a
	// person's access token for one towards another resource, acting for
	// them (Client.TokenExchangeResources).
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// GrantDeviceCode is the device authorization grant (RFC 8628).
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	AuthMethodNone              = "none"
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
)

// User is a person who signs in, owns API keys and clients, and grants
// consent. Every user belongs to exactly one organisation.
type User struct {
	ID           string // UUID
	OrgID        string // UUID
	Email        string // stored lower-cased
	PasswordHash string // argon2id PHC string; empty: cannot sign in to the web pages
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// APIKey authenticates management calls for its user. Only the SHA-256 hash
// of the key is stored.
type APIKey struct {
	ID         string // UUID
	UserID     string
	Name       string
	Hash       string // hex SHA-256 of the whole key
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Client is an OAuth client.
type Client struct {
	ID           string // client_id
	Name         string
	OrgID        string // empty for a client registered without an owner
	UserID       string // empty for a client registered without an owner
	Type         ClientType
	RequirePKCE  bool
	GrantTypes   []string
	Scopes       []string
	RedirectURIs []string
	SecretHash   string // hex SHA-256 of the secret; empty for public clients
	LogoURI      string
	TosURI       string
	PolicyURI    string
	Verified     bool

	// TokenExchangeResources are the resources (configured identifiers)
	// the client may exchange a person's access token for
	// (GrantTokenExchange); empty: none.
	TokenExchangeResources []string

	// How the client authenticates at the token endpoint: none,
	// client_secret_basic or client_secret_post; empty in rows written
	// before every client recorded it.
	TokenEndpointAuthMethod string

	// Set for clients created by dynamic registration (RFC 7591/7592).
	Registered            bool
	ResponseTypes         []string
	RegistrationTokenHash string

	// Provenance of a client created through another client's access
	// token (an app acting for its user on the management API): that
	// client, and the grant the token was issued under ("" for a
	// client_credentials token). Set at creation and never changed.
	// Deleting that client, or that grant, deletes this client too
	// (Store.DeleteClient, Store.DeleteGrant): removing an app removes
	// what it made.
	CreatedByClientID string
	CreatedByGrantID  string

	// Origin is how the client came to be, set at creation and never
	// changed; "" at creation means OriginRegistration when Registered,
	// else OriginAPI (ClientOrigin).
	Origin ClientOrigin
	// ObtainedToken is set, once, when the client is first issued a
	// token (Store.MarkClientUsed); registrations that never are may be
	// removed (Store.DeleteUnusedRegistrations). UpdateClient keeps it.
	ObtainedToken bool

	CreatedAt time.Time
	UpdatedAt time.Time
}

// ClientOrigin is how a client came to be.
type ClientOrigin string

const (
	OriginAPI              ClientOrigin = "api"               // the management API, the developer pages, the CLI
	OriginRegistration     ClientOrigin = "registration"      // dynamic client registration (RFC 7591)
	OriginMetadataDocument ClientOrigin = "metadata_document" // a client ID metadata document
)

// OriginOf answers c's origin, defaulting an unset one as the store
// does at creation.
func (c Client) OriginOf() ClientOrigin {
	switch {
	case c.Origin != "":
		return c.Origin
	case c.Registered:
		return OriginRegistration
	}
	return OriginAPI
}

// DisplayName is what people are shown: the name, or the client_id of a
// client registered without one (RFC 7591 makes client_name optional).
func (c Client) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Allows reports whether the client may use the grant type.
func (c Client) Allows(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// Public reports whether the client has no secret.
func (c Client) Public() bool { return c.Type == ClientPublic }

// PKCERequired reports whether authorization requests must carry PKCE.
func (c Client) PKCERequired() bool { return c.Public() || c.RequirePKCE }

// Grant is a user's standing consent to one client. There is at most one
// grant per (user, client); approving again widens its scopes.
type Grant struct {
	ID         string // UUID
	UserID     string
	ClientID   string
	Scopes     []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt *time.Time
}

// ExchangedToken records an access token issued by token exchange (RFC
// 8693) under a person's grant, so that what revokes the grant's tokens
// revokes it too (Store.RecordExchangedToken).
type ExchangedToken struct {
	JTI       string
	GrantID   string // the person's grant the subject token was issued under
	ClientID  string // the client that exchanged
	ExpiresAt time.Time
}

// Consent is a pending authorization request waiting for the user's
// decision. The consent token itself is never stored, only its hash.
type Consent struct {
	Hash                string
	UserID              string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Resource            string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
	// DeviceCodeHash names the device authorization (RFC 8628) the
	// consent decides; empty for a consent of the code flow, which has
	// a redirect URI instead.
	DeviceCodeHash string
}

// AuthCode is an authorization code (RFC 6749 §4.1) waiting to be redeemed.
type AuthCode struct {
	Hash          string
	ClientID      string
	UserID        string
	GrantID       string
	RedirectURI   string
	Scopes        []string
	Resource      string
	CodeChallenge string // S256 challenge; empty when the client did not use PKCE
	CreatedAt     time.Time
	ExpiresAt     time.Time

	// Set when the code is redeemed, so that a second use can revoke what
	// the first one issued.
	UsedAt          *time.Time
	FamilyID        string
	AccessJTI       string
	AccessExpiresAt *time.Time
}

// RefreshToken is one refresh token. Rotation marks the old row rotated and
// adds a new row in the same family.
type RefreshToken struct {
	Hash      string
	FamilyID  string // one per authorization code redemption
	GrantID   string
	ClientID  string
	UserID    string
	Scopes    []string
	Resource  string
	CreatedAt time.Time // also the iat of the access token issued with it
	ExpiresAt time.Time
	RotatedAt *time.Time // set when it was exchanged for a successor
	// SuccessorHash is the hash of the token it was exchanged for, set
	// with RotatedAt, so that a retry of the exchange finds the same
	// successor; empty in rows rotated before it was recorded.
	SuccessorHash string

	// The access token issued together with this refresh token, so that
	// revoking the family can revoke it too, and a retry can issue it
	// again: its jti, exp and scopes (iat is CreatedAt).
	AccessJTI       string
	AccessExpiresAt time.Time
	AccessScopes    []string
}

// ConsentDecision is what oauth.DecideConsent stores with the used consent.
// The zero value stores nothing else: a denied or refused request.
type ConsentDecision struct {
	// Grant, when non-nil, is the user's grant for the consent's client
	// as the decision leaves it: inserted when the user had none, else
	// written over the one decide was given (the same ID), unless it
	// equals that one.
	Grant *Grant
	// Code, when non-nil, is stored (under Grant, or the existing grant).
	Code *AuthCode
	// Device, when non-nil, is written over the device authorization the
	// consent names (Consent.DeviceCodeHash), which must still be
	// pending: approved under Grant, or denied.
	Device *DeviceCode
}

// Check reports a decision that does not fit the consent it decides and
// the grant decide was given (existing, nil when there was none): a grant
// or code of another user or client, a grant that is not the existing
// one, a code under no grant. oauth.DecideConsent refuses such a
// decision, since writing it would attach tokens to the wrong consent.
func (d ConsentDecision) Check(c Consent, existing *Grant) error {
	grantID := ""
	if existing != nil {
		grantID = existing.ID
	}
	if g := d.Grant; g != nil {
		switch {
		case g.UserID != c.UserID || g.ClientID != c.ClientID:
			return errors.New("consent decision: the grant is not for the consent's user and client")
		case existing != nil && g.ID != existing.ID:
			return errors.New("consent decision: the grant is not the user's existing grant")
		}
		grantID = g.ID
	}
	if c.DeviceCodeHash != "" && d.Code != nil {
		return errors.New("consent decision: a code for a device authorization's consent")
	}
	if dc := d.Device; dc != nil {
		switch {
		case c.DeviceCodeHash == "" || dc.Hash != c.DeviceCodeHash || dc.ClientID != c.ClientID:
			return errors.New("consent decision: the device authorization is not the consent's")
		case dc.Status == DeviceApproved && (dc.UserID != c.UserID || grantID == "" || dc.GrantID != grantID):
			return errors.New("consent decision: the device authorization is not approved under the decided grant")
		}
	}
	if code := d.Code; code != nil {
		switch {
		case code.UserID != c.UserID || code.ClientID != c.ClientID:
			return errors.New("consent decision: the code is not for the consent's user and client")
		case grantID == "" || code.GrantID != grantID:
			return errors.New("consent decision: the code is not under the decided grant")
		}
	}
	return nil
}

// DeviceCode is a device authorization (RFC 8628): a device_code the
// client polls with and the user_code a person enters. Only hashes of
// both are stored.
type DeviceCode struct {
	Hash         string // SHA-256 of the device_code
	UserCodeHash string // SHA-256 of the normalised user_code
	ClientID     string
	Scopes       []string
	Resource     string
	// Interval is the polling interval in seconds the client must keep;
	// it grows by 5 s at every slow_down (RFC 8628 §3.5).
	Interval     int
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastPolledAt *time.Time
	// Status is DevicePending until a person decides; UserID and GrantID
	// are set with DeviceApproved.
	Status  string
	UserID  string
	GrantID string
	// UsedAt is set when the approved device code was redeemed.
	UsedAt *time.Time
}

// DeviceCode statuses.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
)

// Session is a signed-in browser session.
type Session struct {
	Hash      string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SigningKey is a key that signs access tokens. The private key is stored
// encrypted with the master key.
type SigningKey struct {
	ID         string // kid
	Algorithm  string // ES256, RS256, EdDSA
	PrivateEnc []byte // private key, PKCS#8 DER, sealed with the master key
	PublicJWK  []byte // public key as a JWK (JSON)
	CreatedAt  time.Time
	// ActiveAt is when the key starts signing. A new key is published
	// before it signs so that caches of the JWKS pick it up first.
	ActiveAt time.Time
	// RetiredAt is when a newer key took over signing; nil while active.
	RetiredAt *time.Time
	// ExpiresAt is when the key leaves the JWKS: RetiredAt plus the
	// longest access token lifetime. Nil while it signs.
	ExpiresAt *time.Time
}

// Scope is one entry of the scope catalog.
type Scope struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Sensitive scopes are never given to a client without an owner
	// (Catalog.Sensitive); admin always is one.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Page asks for one page of a list. Number starts at 1.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// ClientFilter narrows ListClients. Empty fields do not filter.
type ClientFilter struct {
	OwnerUserID       string // always set by the API: callers see only their own
	ClientType        ClientType
	Name              string // exact
	NameContains      string // case-insensitive substring
	ClientID          string
	GrantTypeContains string
	Verified          *bool
	CreatedByGrantID  string // clients created through that grant's tokens
	Origin            ClientOrigin
	Ownerless         bool // only clients without an owner
}
