package httpapi

import (
	"context"
	"net/url"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// Engine is what the JSON API uses of the protocol engine
// (*oauth.Provider): the API reaches the store and the key ring only
// through it.
type Engine interface {
	APIBase() string
	APIKeyCaller(ctx context.Context, key string) (grantd.User, grantd.APIKey, error)
	AdmitRegistration(owner grantd.User) error
	Authorize(ctx context.Context, userID string, q url.Values) (oauth.AuthorizeResult, error)
	BearerIntrospector(ctx context.Context, tok string) (oauth.Introspector, error)
	ClientScopes(c grantd.Client) []string
	Config() oauth.Config
	ConsentDetails(ctx context.Context, userID, consentToken string) (oauth.ConsentView, error)
	CreateClientVia(ctx context.Context, owner grantd.User, via oauth.Via, in oauth.ClientInput) (grantd.Client, string, error)
	Decide(ctx context.Context, userID, consentToken string, allowed bool) (string, error)
	DeviceAuthorization(ctx context.Context, req oauth.DeviceAuthRequest) (oauth.DeviceAuthResponse, error)
	DeleteClient(ctx context.Context, userID, clientID string) error
	DeleteRegistration(ctx context.Context, clientID, tok string) error
	GetSession(ctx context.Context, hash string) (grantd.Session, error)
	Heartbeat(ctx context.Context, now time.Time) error
	Introspect(ctx context.Context, req oauth.IntrospectRequest) (oauth.Introspection, error)
	JWKS() ([]byte, error)
	ListClients(ctx context.Context, f grantd.ClientFilter, page grantd.Page) ([]grantd.Client, int, error)
	ListGrants(ctx context.Context, userID string, page grantd.Page) ([]grantd.Grant, int, error)
	Now() time.Time
	OwnClient(ctx context.Context, userID, clientID string) (grantd.Client, error)
	OwnGrant(ctx context.Context, userID, grantID string) (grantd.Grant, error)
	Ping(ctx context.Context) error
	Register(ctx context.Context, owner grantd.User, md oauth.ClientMetadata) (oauth.Registration, error)
	RegisteredClient(ctx context.Context, clientID, tok string) (grantd.Client, error)
	RegistrationClientURI(clientID string) string
	ResourceMetadata(resource string) oauth.ResourceMetadata
	Revoke(ctx context.Context, req oauth.RevokeRequest) error
	RevokeGrant(ctx context.Context, userID, grantID string) (grantd.Grant, error)
	ServerMetadata() oauth.ServerMetadata
	Token(ctx context.Context, req oauth.TokenRequest) (oauth.TokenResponse, error)
	TokenCaller(ctx context.Context, tok string) (grantd.User, oauth.Via, error)
	UpdateClientVia(ctx context.Context, userID string, via oauth.Via, clientID string, in oauth.ClientInput) (grantd.Client, error)
	UpdateRegistration(ctx context.Context, clientID, tok string, md oauth.ClientMetadata) (grantd.Client, error)
}

var _ Engine = (*oauth.Provider)(nil)
