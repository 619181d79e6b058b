package httpapi

// What the tests of package httpapi_test read of the unexported.

// HeartbeatEvery is how often readiness writes.
const HeartbeatEvery = heartbeatEvery

// JWKSMaxAge is the JWKS's Cache-Control max-age.
const JWKSMaxAge = jwksMaxAge
