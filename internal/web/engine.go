package web

import (
	"context"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// Engine is what the pages use of the protocol engine (*oauth.Provider):
// the pages reach the store only through it.
type Engine interface {
	APIKeyCaller(ctx context.Context, key string) (grantd.User, grantd.APIKey, error)
	Catalog() *grantd.Catalog
	Client(ctx context.Context, id string) (grantd.Client, error)
	ClientsMadeThrough(ctx context.Context, userID, grantID string, limit int) ([]grantd.Client, int, error)
	Config() oauth.Config
	ConsentDetails(ctx context.Context, userID, consentToken string) (oauth.ConsentView, error)
	CreateClient(ctx context.Context, owner grantd.User, in oauth.ClientInput) (grantd.Client, string, error)
	CreateSession(ctx context.Context, s grantd.Session) error
	Decide(ctx context.Context, userID, consentToken string, allowed bool) (string, error)
	DeleteClient(ctx context.Context, userID, clientID string) error
	DeleteSession(ctx context.Context, hash string) error
	DeviceConsent(ctx context.Context, userID, userCode string) (string, error)
	GetSession(ctx context.Context, hash string) (grantd.Session, error)
	ListClients(ctx context.Context, f grantd.ClientFilter, page grantd.Page) ([]grantd.Client, int, error)
	ListGrants(ctx context.Context, userID string, page grantd.Page) ([]grantd.Grant, int, error)
	Now() time.Time
	OwnClient(ctx context.Context, userID, clientID string) (grantd.Client, error)
	RevokeGrant(ctx context.Context, userID, grantID string) (grantd.Grant, error)
	SignInAccount(ctx context.Context, email string) (grantd.User, error)
	UpdateClient(ctx context.Context, userID, clientID string, in oauth.ClientInput) (grantd.Client, error)
	User(ctx context.Context, id string) (grantd.User, error)
}

var _ Engine = (*oauth.Provider)(nil)
