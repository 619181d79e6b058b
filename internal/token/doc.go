// Package token makes and checks what grantd hands out: JWT access tokens
// (RFC 9068) signed by a Keyring of rotating keys published as a JWKS,
// the master key that seals those keys at rest, and the opaque secrets
// (refresh tokens, codes, API keys, client secrets) of which the database
// keeps only a hash.
package token
