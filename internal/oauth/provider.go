// Package oauth is grantd's protocol engine, *Provider: every OAuth
// decision the server makes, whichever adapter (the JSON API, the pages)
// asked. It validates clients and redirect URIs, runs authorization,
// consent and the token grants (one file per grant type), authenticates
// clients, introspects, revokes and registers, and answers *grantd.Error
// values for the adapters to render. It knows no HTTP; it reads and
// writes through grantd.Store.
package oauth

import (
	"log/slog"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/token"
)

// Config is what the protocol engine needs to know of the deployment.
type Config struct {
	// Issuer is the public origin, no path and no trailing slash.
	Issuer string
	// Resources are the RFC 8707 resource identifiers tokens may be issued
	// for. The issuer and {issuer}/v2 are always added.
	Resources []string
	// Registry holds the named resources of the operator's resources
	// file, before Resources (which get no name and accept every scope).
	Registry []Resource
	// ConsentURL is where authorize sends the user to decide; empty means
	// the built-in page {issuer}/consent.
	ConsentURL string
	// Registration is the dynamic registration policy: "open", "api_key"
	// or "disabled".
	Registration string
	// RegistrationCap is how many clients registered without an owner
	// may exist at once (DefaultRegistrationCap when 0); past it open
	// registration is refused and the operator told in the log.
	RegistrationCap int

	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	CodeTTL         time.Duration
	ConsentTTL      time.Duration
	SessionTTL      time.Duration
	// RefreshGrace tolerates a client retrying with a just-rotated refresh
	// token; zero (the default) treats every second use as reuse.
	RefreshGrace time.Duration
	// DeviceCodeTTL is how long a device authorization (RFC 8628) may be
	// approved and polled (10 min by default); DevicePollInterval is the
	// interval its client is told to poll at (5 s by default).
	DeviceCodeTTL      time.Duration
	DevicePollInterval time.Duration

	// ClientMetadata is the fetch policy for client ID metadata documents
	// (SPEC §3): loopback for development, the domain policy, limits.
	ClientMetadata cimd.Config
}

// WithDefaults fills unset values with SPEC §5's defaults.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AccessTokenTTL, 30*time.Minute)
	def(&c.RefreshTokenTTL, 30*24*time.Hour)
	def(&c.CodeTTL, 60*time.Second)
	def(&c.ConsentTTL, 10*time.Minute)
	def(&c.SessionTTL, 12*time.Hour)
	def(&c.DeviceCodeTTL, 10*time.Minute)
	def(&c.DevicePollInterval, 5*time.Second)
	if c.Registration == "" {
		c.Registration = RegistrationOpen
	}
	if c.RegistrationCap == 0 {
		c.RegistrationCap = DefaultRegistrationCap
	}
	if c.ConsentURL == "" {
		c.ConsentURL = c.Issuer + "/consent"
	}
	return c
}

// Provider is the protocol engine: every OAuth decision grantd makes goes
// through it, whichever adapter (JSON API, web pages) asked. It returns
// *grantd.Error values; adapters render them.
type Provider struct {
	cfg       Config
	store     grantd.Store
	keys      *token.Keyring
	catalog   *grantd.Catalog
	resources *Resources
	log       *slog.Logger
	now       func() time.Time
	docs      *cimd.Fetcher  // client ID metadata documents, on the engine's clock
	verified  *verifiedCache // access tokens verified before (verified.go)
	marked    *idSet         // clients markUsed has marked (token.go)
	obs       Observer
}

// Observer hears of the engine's outcomes that operators count (the
// server's metrics); its methods must be cheap and safe for concurrent
// use. Deps.Observer nil hears nothing.
type Observer interface {
	// TokenIssued: the token endpoint issued a token response.
	TokenIssued(grantType string)
	// Introspected: an introspection answered active or inactive.
	Introspected(active bool)
	// RefreshReused: a rotated-out refresh token was presented again and
	// every token under its grant revoked.
	RefreshReused()
	// Registered: a client was registered (RFC 7591).
	Registered()
}

type noObserver struct{}

func (noObserver) TokenIssued(string) {}
func (noObserver) Introspected(bool)  {}
func (noObserver) RefreshReused()     {}
func (noObserver) Registered()        {}

// Deps are the Provider's dependencies; Now defaults to time.Now and
// Logger to a discarding one.
type Deps struct {
	Config  Config
	Store   grantd.Store
	Keys    *token.Keyring
	Catalog *grantd.Catalog
	Logger  *slog.Logger
	Now     func() time.Time
	// Observer hears what the metrics count; nil hears nothing.
	Observer Observer
}

// NewProvider builds the engine. It fails for a resource that is not an
// absolute URI and for an unknown registration policy, which must not
// quietly mean "open".
func NewProvider(d Deps) (*Provider, error) {
	cfg := d.Config.WithDefaults()
	switch cfg.Registration {
	case RegistrationOpen, RegistrationAPIKey, RegistrationDisabled:
	default:
		return nil, grantd.E(grantd.CodeInvalidRequest, "registration policy %q is not open, api_key or disabled", cfg.Registration)
	}
	all := []Resource{{ID: cfg.Issuer}, {ID: cfg.Issuer + "/v2"}}
	all = append(all, cfg.Registry...)
	for _, r := range cfg.Resources {
		all = append(all, Resource{ID: r})
	}
	rs, bad, ok := NewResources(all)
	if !ok {
		return nil, grantd.E(grantd.CodeInvalidRequest, "resource %q must be an absolute URI without a fragment", bad)
	}
	cfg.Resources = rs.List()
	p := &Provider{cfg: cfg, store: d.Store, keys: d.Keys, catalog: d.Catalog, resources: rs, log: d.Logger, now: d.Now,
		verified: newVerifiedCache(verifiedCacheSize), marked: newIDSet(markedSize)}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.docs = cimd.New(cfg.ClientMetadata, p.now)
	p.obs = d.Observer
	if p.obs == nil {
		p.obs = noObserver{}
	}
	return p, nil
}

// Config answers the effective configuration.
func (p *Provider) Config() Config { return p.cfg }

// Catalog answers the scope catalog.
func (p *Provider) Catalog() *grantd.Catalog { return p.catalog }

// Now answers the engine's clock.
func (p *Provider) Now() time.Time { return p.now() }
