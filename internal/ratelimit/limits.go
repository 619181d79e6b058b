package ratelimit

import "time"

// AddressLimit names a per-address limit and its rates.
type AddressLimit struct {
	Name  string
	Tiers Tiers
}

// Of answers the limit made by l.
func (a AddressLimit) Of(l Limits) PerAddress { return NewPerAddress(l, a.Name, a.Tiers) }

// KeyLimit names a limit keyed by something other than an address (an
// account, a client id) and its rate.
type KeyLimit struct {
	Name string
	Rate Rate
}

// Of answers the limiter made by l.
func (k KeyLimit) Of(l Limits) Limiter { return l.Limiter(k.Name, k.Rate) }

// failuresPerAddress is the budget of failed credential checks of one
// address: nobody who holds a credential fails 20 times in a row, and a
// guesser gets 20 a minute, which against 256-bit secrets is nothing.
var failuresPerAddress = Tiers{
	Narrow: Rate{Burst: 20, Every: 3 * time.Second},
	Wide:   Rate{Burst: 100, Every: 600 * time.Millisecond},
}

// grantd's limits. docs/SECURITY.md lists them; keep the two in step.
var (
	// SignIn counts password checks that fail, per address: it stops one
	// machine from guessing many accounts' passwords and from spending
	// the server's CPU on argon2id.
	SignIn = AddressLimit{Name: "signin", Tiers: Tiers{
		Narrow: Rate{Burst: 20, Every: 15 * time.Second},
		Wide:   Rate{Burst: 60, Every: 5 * time.Second},
	}}
	// SignInAccount counts password checks that fail, per account (the
	// email, whether or not an account has it), from every address
	// together: it stops many machines from guessing one password.
	SignInAccount = KeyLimit{Name: "signin-account", Rate: Rate{Burst: 10, Every: time.Minute}}
	// SignInFailed marks an address that failed a sign-in in the last ten
	// minutes. Its sign-ins still go ahead, but queue behind those of
	// addresses that did not fail, so that a flood of wrong passwords
	// from addresses that keep failing cannot push people out.
	SignInFailed = AddressLimit{Name: "signin-failed", Tiers: Tiers{
		Narrow: Rate{Burst: 1, Every: 10 * time.Minute},
		Wide:   Rate{Burst: 1, Every: 10 * time.Minute},
	}}
	// ClientAuth counts failures at the token, introspection and
	// revocation endpoints, per address: failed client authentication,
	// and at the token endpoint wrong codes, verifiers and refresh tokens.
	ClientAuth = AddressLimit{Name: "client-auth", Tiers: failuresPerAddress}
	// ClientID counts the same failures per presented client_id, from
	// every address together (a public client has no secret, so its
	// codes and refresh tokens are guessed by client_id). Its budget is
	// larger than an address's, so that one address failing cannot lock
	// the client's own servers out.
	ClientID = KeyLimit{Name: "client-id", Rate: Rate{Burst: 100, Every: 500 * time.Millisecond}}
	// APIKey counts API keys that are not valid, per address, wherever
	// one is checked (the management API, authorize, consent, grant
	// decisions, registration under the api_key policy).
	APIKey = AddressLimit{Name: "api-key", Tiers: failuresPerAddress}
	// Register counts every attempt at dynamic client registration
	// (POST /oauth/register), per address, successful or not: open
	// registration is safe to leave on only if one machine cannot fill
	// the database with clients (SPEC §3: 10 a minute, burst 10).
	Register = AddressLimit{Name: "register", Tiers: Tiers{
		Narrow: Rate{Burst: 10, Every: 6 * time.Second},
		Wide:   Rate{Burst: 50, Every: 1200 * time.Millisecond},
	}}
	// Management counts every management API request (clients, grants),
	// per caller: an API key, or the client of an admin access token. A
	// person or a script needs far less than 600 a minute; this keeps one
	// key from taking the API, and the database, for itself
	// (--management-rate-limit changes it).
	Management = KeyLimit{Name: "management", Rate: Rate{Burst: 600, Every: 100 * time.Millisecond}}
	// ConsentToken counts consent tokens that cannot be used, per address,
	// at the consent API, the grant decision and the consent page.
	ConsentToken = AddressLimit{Name: "consent-token", Tiers: failuresPerAddress}
	// UserCode counts device user codes (RFC 8628) that cannot be used,
	// per address, at the device page. A user code has about 34 bits, far
	// fewer than a consent token's 256, so its budget is tighter: 10 at
	// once, then one every 6 s (RFC 8628 §5.1).
	UserCode = AddressLimit{Name: "user-code", Tiers: Tiers{
		Narrow: Rate{Burst: 10, Every: 6 * time.Second},
		Wide:   Rate{Burst: 50, Every: 1200 * time.Millisecond},
	}}
)
