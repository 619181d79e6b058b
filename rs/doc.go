// Package rs checks grantd access tokens in the APIs they are meant for:
// the resource servers of RFC 6750.
//
// A Verifier checks a token locally: the JWT signature against grantd's
// published keys (the JWKS, fetched and cached), the RFC 9068 header
// (typ at+jwt, a kid grantd publishes, an algorithm among ES256, RS256
// and EdDSA that matches the key), the issuer, this API's audience, the
// expiry and the claims every grantd token carries. Its Middleware puts
// the checked Token in the request's context and answers failures with
// RFC 6750 challenges that point clients to the protected resource
// metadata (RFC 9728).
//
//	v, err := rs.New(rs.Config{
//		Issuer:   "https://auth.example.com",
//		Audience: "https://api.example.com/v1",
//	})
//	...
//	mux.Handle("GET /v1/numbers", v.Middleware("read")(numbers))
//
// # Local verification or introspection
//
// Local verification costs no request to grantd once the keys are cached,
// but it cannot see revocation: a token revoked at grantd (by the client,
// by the user removing access, by refresh token reuse, or by deleting the
// client) still verifies until its exp, which is at most grantd's
// --access-token-ttl (30 minutes by default) away. That is the right
// trade for most reads.
//
// Where a revoked token must stop working at once (payments, changes of
// credentials, administrative actions), set Config.Introspection: after
// the local checks pass, the Verifier asks grantd's introspection
// endpoint (RFC 7662) and accepts the token only if grantd answers
// active. That costs one request to grantd per verified token, and the
// API then fails closed while grantd is unreachable. Nothing is cached.
// Two Verifiers, one of each kind, can protect different routes of one
// API.
//
// # Keys
//
// The JWKS is fetched on first use and kept for its Cache-Control
// max-age, bounded to between one minute and one hour (five minutes when
// the answer has none; grantd sends five minutes). A request that finds
// the set stale starts one refresh and goes on with the keys it has;
// concurrent requests share one fetch. A token whose kid is not in the
// set makes the Verifier fetch the set again, at most once every ten
// seconds, so that tokens with made-up kids cannot make it hammer grantd.
// grantd publishes a new key before it signs with it (grantd keys rotate
// --activate-in), so a rotation is normally picked up by the cache's own
// refresh. If grantd cannot be reached, the keys already fetched keep
// being used.
//
// # Errors
//
// Verify's errors wrap ErrInvalidToken when the token is refused. Any
// other error means the Verifier could not decide: grantd unreachable,
// or an answer it could not use. Middleware answers the first with 401
// and the second with 503.
package rs
