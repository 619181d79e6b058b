package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// scope is what every seeded client asks for: admin is in every catalog.
const scope = "admin"

// redirectURI is the seeded code-flow clients' redirect URI; nothing
// listens there, the tool reads the code from the consent API's answer.
const redirectURI = "http://127.0.0.1/callback"

// poolSize is the number of live tokens the introspection scenario
// introspects, round robin.
const poolSize = 1000

// env is what a scenario's requests share: the one client (and its
// transport) of the scenario, the API base, the key and the issuer.
type env struct {
	base   string
	apiKey string
	issuer string
	http   *http.Client
}

// answer is one HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string {
	b := a.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %s", a.status, strings.TrimSpace(string(b)))
}

// do sends one request; body is JSON unless it is url.Values (a form).
func (e *env) do(ctx context.Context, method, u string, body any, auth func(*http.Request)) (answer, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	res, err := e.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return answer{}, err
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}, nil
}

// bearer authenticates with the API key.
func (e *env) bearer(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.apiKey) }

// basic authenticates as a confidential client.
func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// decodeJSON checks the answer's status and JSON content type and decodes it.
func decodeJSON(a answer, status int, v any) error {
	if a.status != status {
		return fmt.Errorf("want %d, got %s", status, a)
	}
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "application/json" && mt != "application/jwk-set+json" {
		return fmt.Errorf("content type %q, want application/json", a.header.Get("Content-Type"))
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("answer is not the JSON expected: %v: %s", err, a)
	}
	return nil
}

// seen remembers the last answer a check accepted, so that an answer
// byte for byte equal to it (the same status, content type and body) is
// accepted by comparing bytes, as the ceiling's answer is, instead of
// being decoded again: a JWKS, the metadata and the introspection of one
// token are the same bytes every time. Any other answer is checked in
// full, and remembered when it passes. Safe for concurrent use.
type seen struct{ p atomic.Pointer[answer] }

// check answers nil when a equals the last accepted answer, else runs
// full on it and remembers a when full accepts it.
func (s *seen) check(a answer, full func(answer) error) error {
	if last := s.p.Load(); last != nil && last.status == a.status &&
		last.header.Get("Content-Type") == a.header.Get("Content-Type") && bytes.Equal(last.body, a.body) {
		return nil
	}
	if err := full(a); err != nil {
		return err
	}
	s.p.Store(&a)
	return nil
}

// discover reads the issuer from the authorization server metadata under
// the base: every authorization response must carry it as iss.
func (e *env) discover(ctx context.Context) error {
	a, err := e.do(ctx, http.MethodGet, e.base+"/.well-known/oauth-authorization-server", nil, nil)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	var md struct {
		Issuer string `json:"issuer"`
	}
	if err := decodeJSON(a, 200, &md); err != nil || md.Issuer == "" {
		return fmt.Errorf("metadata at %s: %v", e.base, err)
	}
	e.issuer = md.Issuer
	return nil
}

// seeded are the clients a scenario created, deleted at its end.
type seeded struct {
	e   *env
	mu  sync.Mutex
	ids []string
}

// client creates a client through the management API.
func (s *seeded) client(ctx context.Context, clientType string, grants ...string) (id, secret string, err error) {
	body := map[string]any{
		"name": "grantd bench", "client_type": clientType,
		"allowed_scopes": []string{scope}, "allowed_grant_types": grants,
	}
	if slices.Contains(grants, "authorization_code") {
		body["redirect_uris"] = []string{redirectURI}
	}
	a, err := s.e.do(ctx, http.MethodPost, s.e.base+"/oauth_clients", body, s.e.bearer)
	if err != nil {
		return "", "", err
	}
	var out struct {
		Data struct {
			ClientID     string  `json:"client_id"`
			ClientSecret *string `json:"client_secret"`
		} `json:"data"`
	}
	if err := decodeJSON(a, http.StatusCreated, &out); err != nil || out.Data.ClientID == "" {
		return "", "", fmt.Errorf("create client: %v %s", err, a)
	}
	s.mu.Lock()
	s.ids = append(s.ids, out.Data.ClientID)
	s.mu.Unlock()
	if out.Data.ClientSecret != nil {
		secret = *out.Data.ClientSecret
	}
	if clientType == "confidential" && secret == "" {
		return "", "", fmt.Errorf("create client: no client_secret in %s", a)
	}
	return out.Data.ClientID, secret, nil
}

// cleanup deletes the seeded clients (and with them their grants).
func (s *seeded) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range s.ids {
		s.e.do(ctx, http.MethodDelete, s.e.base+"/oauth_clients/"+url.PathEscape(id), nil, s.e.bearer)
	}
}

// tokenAnswer is a token endpoint success.
type tokenAnswer struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	Scope        string          `json:"scope"`
	RefreshToken string          `json:"refresh_token"`
}

// checkToken checks a token answer as a strict client does (SPEC §8).
func checkToken(a answer, wantRefresh bool) (tokenAnswer, error) {
	var t tokenAnswer
	if err := decodeJSON(a, 200, &t); err != nil {
		return t, err
	}
	var exp float64
	switch {
	case t.AccessToken == "":
		return t, fmt.Errorf("no access_token: %s", a)
	case t.TokenType != "Bearer":
		return t, fmt.Errorf("token_type %q: %s", t.TokenType, a)
	case json.Unmarshal(t.ExpiresIn, &exp) != nil || exp <= 0:
		return t, fmt.Errorf("expires_in is not a positive number: %s", a)
	case !slices.Contains(strings.Fields(t.Scope), scope):
		return t, fmt.Errorf("scope %q lacks %s", t.Scope, scope)
	case wantRefresh && t.RefreshToken == "":
		return t, fmt.Errorf("no refresh_token: %s", a)
	case !wantRefresh && t.RefreshToken != "":
		return t, fmt.Errorf("a refresh_token where none belongs: %s", a)
	case !strings.Contains(a.header.Get("Cache-Control"), "no-store"):
		return t, fmt.Errorf("token answer without Cache-Control: no-store")
	}
	return t, nil
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeFlow runs the authorization code flow with PKCE and consent through
// the API, as a consent portal does (SPEC §6): authorize with the API
// key, read the consent, approve, redeem the code.
func (e *env) codeFlow(ctx context.Context, clientID string) (tokenAnswer, error) {
	verifier, state := randomString(), randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {state}, "prompt": {"consent"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	a, err := e.do(ctx, http.MethodGet, e.base+"/oauth/authorize?"+q.Encode(), nil, e.bearer)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("authorize: %w", err)
	}
	loc, err := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusFound || err != nil || loc.Query().Get("consent_token") == "" {
		return tokenAnswer{}, fmt.Errorf("authorize: want 302 to the consent page, got %s → %q", a, a.header.Get("Location"))
	}
	ct := loc.Query().Get("consent_token")

	a, err = e.do(ctx, http.MethodGet, e.base+"/oauth/consent/"+url.PathEscape(ct), nil, e.bearer)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("consent: %w", err)
	}
	var consent struct {
		Data struct {
			ClientID        string `json:"client_id"`
			RedirectURI     string `json:"redirect_uri"`
			RequestedScopes []struct {
				ID string `json:"id"`
			} `json:"requested_scopes"`
		} `json:"data"`
	}
	if err := decodeJSON(a, 200, &consent); err != nil {
		return tokenAnswer{}, fmt.Errorf("consent: %w", err)
	}
	if consent.Data.ClientID != clientID || len(consent.Data.RequestedScopes) == 0 || consent.Data.RequestedScopes[0].ID != scope {
		return tokenAnswer{}, fmt.Errorf("consent: not this request's: %s", a)
	}

	a, err = e.do(ctx, http.MethodPost, e.base+"/oauth/grants", map[string]any{"allowed": true, "consent_token": ct}, e.bearer)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("grants: %w", err)
	}
	var dec struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := decodeJSON(a, 200, &dec); err != nil {
		return tokenAnswer{}, fmt.Errorf("grants: %w", err)
	}
	back, err := url.Parse(dec.RedirectURI)
	if err != nil || back.Scheme+"://"+back.Host+back.Path != redirectURI {
		return tokenAnswer{}, fmt.Errorf("grants: redirect_uri %q is not the client's", dec.RedirectURI)
	}
	bq := back.Query()
	switch {
	case bq.Get("code") == "":
		return tokenAnswer{}, fmt.Errorf("grants: no code in %q", dec.RedirectURI)
	case bq.Get("state") != state:
		return tokenAnswer{}, fmt.Errorf("grants: state %q is not the request's", bq.Get("state"))
	case bq.Get("iss") != e.issuer:
		return tokenAnswer{}, fmt.Errorf("grants: iss %q, want %q", bq.Get("iss"), e.issuer)
	}

	a, err = e.do(ctx, http.MethodPost, e.base+"/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {bq.Get("code")}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {clientID},
	}, nil)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("token: %w", err)
	}
	t, err := checkToken(a, true)
	if err != nil {
		return t, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

func (e *env) clientCredentials(ctx context.Context, id, secret string) (tokenAnswer, error) {
	a, err := e.do(ctx, http.MethodPost, e.base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret))
	if err != nil {
		return tokenAnswer{}, err
	}
	return checkToken(a, false)
}

// each answers the same op for every connection.
func each(conns int, o op) []op {
	ops := make([]op, conns)
	for i := range ops {
		ops[i] = o
	}
	return ops
}

func setupClientCredentials(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	s := &seeded{e: e}
	id, secret, err := s.client(ctx, "confidential", "client_credentials")
	if err != nil {
		return nil, s.cleanup, err
	}
	return each(conns, func(ctx context.Context) error {
		_, err := e.clientCredentials(ctx, id, secret)
		return err
	}), s.cleanup, nil
}

func setupIntrospection(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	s := &seeded{e: e}
	id, secret, err := s.client(ctx, "confidential", "client_credentials")
	if err != nil {
		return nil, s.cleanup, err
	}
	// The pool: poolSize live access tokens, issued by conns workers.
	pool := make([]string, poolSize)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < poolSize; i = next.Add(1) - 1 {
				t, err := e.clientCredentials(ctx, id, secret)
				if err != nil {
					errs <- fmt.Errorf("token for the pool: %w", err)
					return
				}
				pool[i] = t.AccessToken
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, s.cleanup, err
	}
	var turn atomic.Int64
	checked := make([]seen, poolSize)
	return each(conns, func(ctx context.Context) error {
		i := (turn.Add(1) - 1) % poolSize
		a, err := e.do(ctx, http.MethodPost, e.base+"/oauth/introspect", url.Values{"token": {pool[i]}}, basic(id, secret))
		if err != nil {
			return err
		}
		return checked[i].check(a, func(a answer) error { return checkIntrospection(a, id) })
	}), s.cleanup, nil
}

// checkIntrospection accepts the introspection of a live token of the
// client id with the bench's scope.
func checkIntrospection(a answer, id string) error {
	var in struct {
		Active    bool   `json:"active"`
		ClientID  string `json:"client_id"`
		TokenType string `json:"token_type"`
		Scope     string `json:"scope"`
	}
	if err := decodeJSON(a, 200, &in); err != nil {
		return err
	}
	if !in.Active || in.ClientID != id || in.TokenType != "access_token" || !slices.Contains(strings.Fields(in.Scope), scope) {
		return fmt.Errorf("introspection of a live token: %s", a)
	}
	return nil
}

func setupRefresh(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	s := &seeded{e: e}
	ops := make([]op, conns)
	for i := range ops {
		// A client of its own per connection: each chain is a grant of
		// its own, so that no two connections touch one family.
		id, _, err := s.client(ctx, "public", "authorization_code", "refresh_token")
		if err != nil {
			return nil, s.cleanup, err
		}
		t, err := e.codeFlow(ctx, id)
		if err != nil {
			return nil, s.cleanup, fmt.Errorf("the first refresh token: %w", err)
		}
		rt := t.RefreshToken
		ops[i] = func(ctx context.Context) error {
			a, err := e.do(ctx, http.MethodPost, e.base+"/oauth/token", url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id},
			}, nil)
			if err != nil {
				return err
			}
			t, err := checkToken(a, true)
			if err != nil {
				return err
			}
			if t.RefreshToken == rt {
				return fmt.Errorf("the refresh token did not rotate")
			}
			rt = t.RefreshToken
			return nil
		}
	}
	return ops, s.cleanup, nil
}

func setupCodeFlow(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	s := &seeded{e: e}
	ops := make([]op, conns)
	for i := range ops {
		id, _, err := s.client(ctx, "public", "authorization_code", "refresh_token")
		if err != nil {
			return nil, s.cleanup, err
		}
		ops[i] = func(ctx context.Context) error {
			_, err := e.codeFlow(ctx, id)
			return err
		}
	}
	return ops, s.cleanup, nil
}

func setupJWKS(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	return e.getChecked(conns, "/oauth/jwks", checkJWKS), nil, nil
}

// getChecked answers, for every connection, a GET of path under the base
// whose answer check accepts (through seen: the same bytes once checked
// are compared, not decoded again).
func (e *env) getChecked(conns int, path string, check func(answer) error) []op {
	var checked seen
	return each(conns, func(ctx context.Context) error {
		a, err := e.do(ctx, http.MethodGet, e.base+path, nil, nil)
		if err != nil {
			return err
		}
		return checked.check(a, check)
	})
}

// checkJWKS accepts a key set of at least one key, each with kid and kty.
func checkJWKS(a answer) error {
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	if err := decodeJSON(a, 200, &set); err != nil {
		return err
	}
	if len(set.Keys) == 0 {
		return fmt.Errorf("no keys: %s", a)
	}
	for _, k := range set.Keys {
		if k.Kid == "" || k.Kty == "" {
			return fmt.Errorf("a key without kid or kty: %s", a)
		}
	}
	return nil
}

// setupMetadata loads the authorization server metadata (RFC 8414) at
// the API's well-known path, as clients discover the server.
func setupMetadata(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	return e.getChecked(conns, "/.well-known/oauth-authorization-server", checkMetadata), nil, nil
}

// checkMetadata accepts authorization server metadata with an issuer, a
// token endpoint and a JWKS URI.
func checkMetadata(a answer) error {
	var md struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	if err := decodeJSON(a, 200, &md); err != nil {
		return err
	}
	if md.Issuer == "" || !strings.HasSuffix(md.TokenEndpoint, "/oauth/token") || !strings.HasSuffix(md.JWKSURI, "/oauth/jwks") {
		return fmt.Errorf("metadata without issuer, token_endpoint or jwks_uri: %s", a)
	}
	return nil
}

func setupListClients(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	s := &seeded{e: e}
	if _, _, err := s.client(ctx, "confidential", "client_credentials"); err != nil {
		return nil, s.cleanup, err
	}
	return each(conns, func(ctx context.Context) error {
		a, err := e.do(ctx, http.MethodGet, e.base+"/oauth_clients", nil, e.bearer)
		if err != nil {
			return err
		}
		var list struct {
			Data []struct {
				RecordType string `json:"record_type"`
				ClientID   string `json:"client_id"`
			} `json:"data"`
			Meta *struct {
				TotalResults int `json:"total_results"`
			} `json:"meta"`
		}
		if err := decodeJSON(a, 200, &list); err != nil {
			return err
		}
		if len(list.Data) == 0 || list.Meta == nil || list.Meta.TotalResults < len(list.Data) {
			return fmt.Errorf("the list lacks the seeded client: %s", a)
		}
		for _, c := range list.Data {
			if c.RecordType != "oauth_client" || c.ClientID == "" {
				return fmt.Errorf("not an oauth_client: %s", a)
			}
		}
		return nil
	}), s.cleanup, nil
}

func setupRegistration(ctx context.Context, e *env, conns int) ([]op, func(), error) {
	// With the API key, as under the api_key policy: a known caller, not
	// held to the per-address limit of anonymous registration.
	return each(conns, func(ctx context.Context) error {
		a, err := e.do(ctx, http.MethodPost, e.base+"/oauth/register", map[string]any{
			"client_name": "grantd bench", "redirect_uris": []string{redirectURI},
			"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "none",
		}, e.bearer)
		if err != nil {
			return err
		}
		var reg struct {
			ClientID                string `json:"client_id"`
			ClientName              string `json:"client_name"`
			RegistrationAccessToken string `json:"registration_access_token"`
		}
		if err := decodeJSON(a, http.StatusCreated, &reg); err != nil {
			return err
		}
		if reg.ClientID == "" || reg.ClientName != "grantd bench" || reg.RegistrationAccessToken == "" {
			return fmt.Errorf("registration answer: %s", a)
		}
		return nil
	}), nil, nil
}
