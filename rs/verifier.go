package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultLeeway is the clock skew allowed when Config.Leeway is zero.
const DefaultLeeway = time.Minute

// maxTokenLength bounds what Verify parses. grantd's tokens are well
// under 2 KiB even with RS256; the bound keeps garbage from costing much.
const maxTokenLength = 8 << 10

// Config configures a Verifier. Issuer and Audience are required.
type Config struct {
	// Issuer is grantd's issuer, exactly as grantd's --issuer and its
	// metadata's "issuer" spell it: an origin without a path or a trailing
	// slash ("https://auth.example.com"). A token's iss must equal it.
	Issuer string
	// Audience is this API's resource identifier (RFC 8707), written
	// exactly as grantd's operator configured it with --resource
	// ("https://api.example.com/v1"), or the issuer or {issuer}/v2 for
	// grantd's own API. A token's aud must be it, or an array holding
	// it. Clients get such tokens by sending resource=Audience to the
	// token endpoint; a token asked for without resource is meant for
	// grantd (its aud is the issuer) and is refused here.
	Audience string

	// JWKSURL is where grantd publishes its keys: {Issuer}/v2/oauth/jwks
	// when empty, which is where every grantd serves them. It is not
	// discovered from the authorization server metadata, so New needs no
	// request and verification does not depend on a second document; set
	// it only when a proxy serves the keys elsewhere.
	JWKSURL string
	// HTTPClient fetches the JWKS and calls introspection. When nil, a
	// client with a 10-second timeout.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed between grantd and this server
	// when checking exp, iat and nbf: DefaultLeeway (one minute) when
	// zero. Set a negative value for none.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Introspection, when set, makes Verify ask grantd about every token
	// that passes the local checks and refuse it unless grantd answers
	// active: revocation then takes effect at once. See the package
	// documentation for the cost.
	Introspection *Introspection

	// ResourceMetadataURL is the resource_metadata of the challenges
	// Middleware sends (RFC 9728 §5.1): where a client learns which
	// authorization server to ask for a token for this API. When empty,
	// the URL RFC 9728 §3.1 forms from Audience (the well-known segment
	// inserted between host and path: for https://api.example.com/mcp,
	// https://api.example.com/.well-known/oauth-protected-resource/mcp),
	// which MetadataHandler serves with Audience as "resource". Set it
	// only when that document is served elsewhere; New refuses a URL of
	// grantd's own documents, which describe grantd's API, not this one.
	ResourceMetadataURL string
	// ScopesSupported and ResourceName are the scopes_supported and
	// resource_name of the document MetadataHandler serves; both are
	// left out when empty.
	ScopesSupported []string
	ResourceName    string
	// Realm is the realm of the challenges; "grantd" when empty.
	Realm string
}

// Verifier checks grantd access tokens. It is safe for concurrent use;
// make one per API and audience, and share it.
type Verifier struct {
	issuer     string
	audience   string
	leeway     time.Duration
	now        func() time.Time
	keys       *keySet
	introspect *introspector // nil: local checks only
	challenge  string        // the 401 challenge, without scope or error
	metadata   []byte        // the RFC 9728 document MetadataHandler serves
	mdPath     string        // the path of ResourceMetadataURL
}

// New checks the configuration and answers a Verifier. It makes no
// request: the keys are fetched on first use.
func New(c Config) (*Verifier, error) {
	if err := checkIssuer(c.Issuer); err != nil {
		return nil, err
	}
	if c.Audience == "" {
		return nil, errors.New("rs: Config.Audience is required")
	}
	derived, err := metadataURL(c.Audience)
	if err != nil {
		return nil, err
	}
	if c.JWKSURL == "" {
		c.JWKSURL = c.Issuer + "/v2/oauth/jwks"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ResourceMetadataURL == "" {
		c.ResourceMetadataURL = derived
	} else if c.ResourceMetadataURL != derived && grantdDocument(c.Issuer, c.ResourceMetadataURL) {
		return nil, fmt.Errorf("rs: Config.ResourceMetadataURL %q is grantd's document for its own API, not for %q; leave it empty", c.ResourceMetadataURL, c.Audience)
	}
	for _, s := range c.ScopesSupported {
		if !validScope(s) {
			return nil, fmt.Errorf("rs: Config.ScopesSupported: %q is not a scope token", s)
		}
	}
	if c.Realm == "" {
		c.Realm = "grantd"
	}
	if err := checkURL("JWKSURL", c.JWKSURL); err != nil {
		return nil, err
	}
	if err := checkURL("ResourceMetadataURL", c.ResourceMetadataURL); err != nil {
		return nil, err
	}
	if !quotable(c.Realm) {
		return nil, errors.New("rs: Config.Realm must be printable ASCII without \" or \\")
	}
	md, _ := url.Parse(c.ResourceMetadataURL)
	doc, err := json.Marshal(metadataDocument{
		Resource:             c.Audience,
		AuthorizationServers: []string{c.Issuer},
		ScopesSupported:      c.ScopesSupported,
		BearerMethods:        []string{"header"},
		ResourceName:         c.ResourceName,
	})
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		issuer:    c.Issuer,
		audience:  c.Audience,
		leeway:    c.Leeway,
		now:       c.Now,
		keys:      newKeySet(c.JWKSURL, c.HTTPClient, c.Now),
		challenge: `Bearer realm="` + c.Realm + `", resource_metadata="` + c.ResourceMetadataURL + `"`,
		metadata:  append(doc, '\n'),
		mdPath:    md.EscapedPath(),
	}
	if c.Introspection != nil {
		in, err := newIntrospector(*c.Introspection, c.Issuer, c.HTTPClient)
		if err != nil {
			return nil, err
		}
		v.introspect = in
	}
	return v, nil
}

// checkIssuer refuses what could never equal a grantd iss, so that a
// typo fails at start rather than on every request.
func checkIssuer(iss string) error {
	if iss == "" {
		return errors.New("rs: Config.Issuer is required")
	}
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(iss, "?#") {
		return fmt.Errorf("rs: Config.Issuer %q is not an origin like https://auth.example.com (no path, no trailing slash)", iss)
	}
	return nil
}

// metadataURL answers the URL of the protected resource metadata of
// the resource identifier aud (RFC 9728 §3.1), refusing an identifier
// that is not an absolute http(s) URL without a fragment (RFC 8707 §2).
func metadataURL(aud string) (string, error) {
	u, err := url.Parse(aud)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Fragment != "" || strings.Contains(aud, "#") || u.Opaque != "" {
		return "", fmt.Errorf("rs: Config.Audience %q is not an absolute http(s) URL without a fragment", aud)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	m := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + path
	if u.RawQuery != "" {
		m += "?" + u.RawQuery
	}
	return m, nil
}

// grantdDocument reports whether m is one of the protected resource
// documents grantd serves about its own API.
func grantdDocument(issuer, m string) bool {
	rest, ok := strings.CutPrefix(m, issuer+"/")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "v2/")
	return strings.HasPrefix(rest, ".well-known/oauth-protected-resource")
}

func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !quotable(s) {
		return fmt.Errorf("rs: Config.%s %q is not an absolute http(s) URL", field, s)
	}
	return nil
}

// quotable reports whether s can stand inside a quoted-string of a
// challenge as it is: printable ASCII without '"' and '\'.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ErrInvalidToken is wrapped by the errors of Verify that refuse the
// token: it is not a live grantd access token for this API. Other errors
// mean Verify could not decide.
var ErrInvalidToken = errors.New("rs: invalid access token")

// invalidToken is an error refusing a token. Its reason is safe to show
// the client: it never holds the token or a value taken from it.
type invalidToken struct{ reason string }

func (e *invalidToken) Error() string        { return ErrInvalidToken.Error() + ": " + e.reason }
func (e *invalidToken) Is(target error) bool { return target == ErrInvalidToken }

func invalid(reason string) error { return &invalidToken{reason} }

// algorithms are the JWS algorithms grantd signs with. Every other alg,
// "none" and HMAC included, fails parsing.
var algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// claims is the wire form of a grantd access token's claims (RFC 9068
// §2.2). Registered claims of the wrong JSON type fail decoding.
type claims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	GrantID  string `json:"grant_id"`
	Act      *Actor `json:"act"`
}

// Verify checks that tok is a grantd access token for this API, live
// now, and answers it. With Config.Introspection it also asks grantd
// whether the token is still active. Errors wrap ErrInvalidToken when
// the token is refused; see the package documentation.
func (v *Verifier) Verify(ctx context.Context, tok string) (*Token, error) {
	if len(tok) > maxTokenLength {
		return nil, invalid("the token is too long")
	}
	// base64 decoding skips line breaks: without this a token with
	// whitespace inserted would verify as the original.
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, invalid("the token is not a JWT")
		}
	}
	jws, err := jose.ParseSignedCompact(tok, algorithms)
	if err != nil {
		return nil, invalid("the token is not a JWT signed with ES256, RS256 or EdDSA")
	}
	// Everything that can be checked without a key is, before the key
	// lookup, which may fetch the JWKS.
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, invalid("the token's typ is not at+jwt")
	}
	if h.KeyID == "" {
		return nil, invalid("the token has no kid")
	}
	k, err := v.keys.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if h.Algorithm != k.alg {
		return nil, invalid("the token's alg is not its key's")
	}
	payload, err := jws.Verify(k.public)
	if err != nil {
		return nil, invalid("the signature does not verify")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("the claims are malformed")
	}
	t, err := v.check(&c)
	if err != nil {
		return nil, err
	}
	if v.introspect != nil {
		active, err := v.introspect.active(ctx, tok)
		if err != nil {
			return nil, err
		}
		if !active {
			return nil, invalid("grantd no longer holds the token active (revoked)")
		}
	}
	return t, nil
}

// check applies the claim rules of RFC 9068 §4 to verified claims.
func (v *Verifier) check(c *claims) (*Token, error) {
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return nil, invalid("the token is from another issuer")
	case !c.Audience.Contains(v.audience):
		return nil, invalid("the token is not meant for this API")
	case c.Expiry == nil, c.IssuedAt == nil, c.Subject == "", c.ClientID == "", c.ID == "", c.Scope == "":
		return nil, invalid("the token lacks a required claim")
	case !now.Before(c.Expiry.Time().Add(v.leeway)):
		return nil, invalid("the token has expired")
	case now.Add(v.leeway).Before(c.IssuedAt.Time()):
		return nil, invalid("the token was issued in the future")
	case c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()):
		return nil, invalid("the token is not valid yet")
	}
	return &Token{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Scopes:    strings.Fields(c.Scope),
		GrantID:   c.GrantID,
		JTI:       c.ID,
		Audience:  []string(c.Audience),
		IssuedAt:  c.IssuedAt.Time().UTC(),
		ExpiresAt: c.Expiry.Time().UTC(),
		Act:       c.Act,
	}, nil
}
