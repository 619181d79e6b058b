package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// The device authorization grant (RFC 8628). A client without a browser
// asks for a device code (DeviceAuthorization) and shows the person a
// short user code and {issuer}/device; the person, signed in there,
// enters the code (DeviceConsent), which makes a consent like authorize's
// and sends them to the same consent page; their decision (Decide)
// approves or denies the device authorization in the unit of work of the
// consent; meanwhile the client polls the token endpoint (deviceCode).

// UserCodeAlphabet is RFC 8628 §6.1's: 20 consonants, no vowels (no words
// spelled by accident) and nothing easily mistaken for another.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLength is 8 characters, shown as XXXX-XXXX: 20^8 ≈ 2^34.5.
const userCodeLength = 8

// DeviceAuthRequest is a request to the device authorization endpoint.
type DeviceAuthRequest struct {
	Client ClientAuth
	Scope  string
	// Resources holds every resource parameter; more than one is
	// invalid_target.
	Resources []string
}

// DeviceAuthResponse is RFC 8628 §3.2's answer.
type DeviceAuthResponse struct {
	DeviceCode              string
	UserCode                string // XXXX-XXXX
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               int64 // seconds
	Interval                int64 // seconds
}

// DeviceAuthorization starts a device authorization for an authenticated
// client that may use the device grant.
func (p *Provider) DeviceAuthorization(ctx context.Context, req DeviceAuthRequest) (DeviceAuthResponse, error) {
	c, err := p.AuthenticateClient(ctx, req.Client, true)
	if err != nil {
		return DeviceAuthResponse{}, err
	}
	if !c.Allows(grantd.GrantDeviceCode) {
		return DeviceAuthResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the device_code grant")
	}
	allowed := p.allowedScopes(c)
	requested, ok := grantd.ParseScope(req.Scope)
	var scopes []string
	switch {
	case !ok:
		return DeviceAuthResponse{}, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	case len(requested) == 0 && len(allowed) == 0:
		return DeviceAuthResponse{}, grantd.E(grantd.CodeInvalidScope, "this application is allowed no scope")
	case len(requested) == 0:
		scopes = allowed
	case !grantd.Subset(requested, allowed):
		return DeviceAuthResponse{}, grantd.E(grantd.CodeInvalidScope, "scope asks for more than this application is allowed")
	default:
		scopes = requested
	}
	var resource string
	switch len(req.Resources) {
	case 0:
	case 1:
		r, ok := p.resources.Match(req.Resources[0])
		if !ok {
			return DeviceAuthResponse{}, grantd.E(grantd.CodeInvalidTarget, "resource is not a resource of this server")
		}
		resource = r
		if scopes, err = p.resourceScopes(r, scopes, len(requested) > 0); err != nil {
			return DeviceAuthResponse{}, err
		}
	default:
		return DeviceAuthResponse{}, errOneResource()
	}

	now := p.now().UTC()
	interval := int((p.cfg.DevicePollInterval + time.Second - 1) / time.Second)
	dc := grantd.DeviceCode{
		ClientID:  c.ID,
		Scopes:    scopes,
		Resource:  resource,
		Interval:  interval,
		CreatedAt: now,
		ExpiresAt: now.Add(p.cfg.DeviceCodeTTL),
		Status:    grantd.DevicePending,
	}
	var deviceCode, userCode string
	// A user code taken by another device authorization (one in 2^34 per
	// live code) is drawn again.
	for try := 0; ; try++ {
		deviceCode, dc.Hash = token.NewOpaque(token.PrefixDeviceCode)
		userCode = newUserCode()
		dc.UserCodeHash = hashUserCode(userCode)
		err = p.store.CreateDeviceCode(ctx, dc)
		if err == nil {
			break
		}
		if !errors.Is(err, grantd.ErrAlreadyExists) || try == 3 {
			return DeviceAuthResponse{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
		}
	}
	shown := FormatUserCode(userCode)
	verify := p.cfg.Issuer + "/device"
	return DeviceAuthResponse{
		DeviceCode:              deviceCode,
		UserCode:                shown,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?" + url.Values{"user_code": {shown}}.Encode(),
		ExpiresIn:               int64(p.cfg.DeviceCodeTTL / time.Second),
		Interval:                int64(interval),
	}, nil
}

// newUserCode answers 8 random characters of UserCodeAlphabet.
func newUserCode() string {
	var b [userCodeLength]byte
	out := make([]byte, userCodeLength)
	for i := 0; i < userCodeLength; {
		if _, err := rand.Read(b[:1]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		// 240 = 12 × 20: below it every letter is equally likely.
		if b[0] < 240 {
			out[i] = UserCodeAlphabet[int(b[0])%len(UserCodeAlphabet)]
			i++
		}
	}
	return string(out)
}

// FormatUserCode shows a normalised user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode answers the user code as stored: upper case, without
// dashes and white space; ok is false when it is not 8 characters of the
// alphabet.
func NormalizeUserCode(in string) (string, bool) {
	if len(in) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range in {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if !strings.ContainsRune(UserCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}

// hashUserCode answers what the store keeps of a normalised user code.
func hashUserCode(code string) string { return token.Hash("grantd user code " + code) }

// badUserCode is the one answer for a user code that cannot be used:
// unknown, mistyped, expired and already decided read the same.
func badUserCode() *grantd.Error {
	e := grantd.Invalid(grantd.FieldError{Pointer: "/user_code", Detail: "the code is not valid or has expired; check it and try again, or start again on your device"})
	e.Description = e.Fields[0].Detail
	return e
}

// IsBadUserCode reports whether err is the answer for a user code that
// cannot be used, which adapters count against the caller's budget.
func IsBadUserCode(err error) bool {
	var e *grantd.Error
	return errors.As(err, &e) && e.Code == grantd.CodeValidation && len(e.Fields) == 1 && e.Fields[0].Pointer == "/user_code"
}

// DeviceConsent takes the user code a signed-in user entered and answers
// the consent page to send them to ({consent_url}?consent_token=…), for a
// consent that decides the device authorization. The person always
// decides there, even with a grant that covers the scopes: the user code
// alone must never approve (RFC 8628 §5.4).
func (p *Provider) DeviceConsent(ctx context.Context, userID, userCode string) (string, error) {
	if userID == "" {
		return "", grantd.E(grantd.CodeUnauthenticated, "sign in first")
	}
	code, ok := NormalizeUserCode(userCode)
	if !ok {
		return "", badUserCode()
	}
	now := p.now().UTC()
	dc, err := p.store.GetDeviceCodeByUserCode(ctx, hashUserCode(code))
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return "", badUserCode()
	case err != nil:
		return "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	case dc.Status != grantd.DevicePending || !now.Before(dc.ExpiresAt):
		return "", badUserCode()
	}
	client, err := p.store.GetClient(ctx, dc.ClientID)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return "", badUserCode()
	case err != nil:
		return "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	case !client.Allows(grantd.GrantDeviceCode):
		return "", badUserCode()
	}
	expires := now.Add(p.cfg.ConsentTTL)
	if dc.ExpiresAt.Before(expires) {
		expires = dc.ExpiresAt
	}
	tok, hash := token.NewOpaque(token.PrefixConsentToken)
	c := grantd.Consent{
		Hash:           hash,
		UserID:         userID,
		ClientID:       client.ID,
		Scopes:         dc.Scopes,
		Resource:       dc.Resource,
		CreatedAt:      now,
		ExpiresAt:      expires,
		DeviceCodeHash: dc.Hash,
	}
	if err := p.store.CreateConsent(ctx, c); err != nil {
		return "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return appendQuery(p.cfg.ConsentURL, url.Values{"consent_token": {tok}}), nil
}

// DeviceResultURL is where the browser goes after deciding a device
// authorization: the device page saying what was decided.
func (p *Provider) DeviceResultURL(approved bool) string {
	result := "denied"
	if approved {
		result = "approved"
	}
	return p.cfg.Issuer + "/device?" + url.Values{"result": {result}}.Encode()
}

// errDeviceDecided: the device authorization a consent decides is no
// longer pending (decided through another consent, or expired).
var errDeviceDecided = errors.New("device authorization: no longer pending")

// decideDevice is Decide for a consent of a device authorization: the
// grant is created or widened as in the code flow, no code is issued,
// and the device authorization is approved under the grant, or denied.
func (p *Provider) decideDevice(ctx context.Context, userID string, c grantd.Consent, client grantd.Client, allowed bool, now time.Time) (string, error) {
	grantID := uuid.NewString()
	approved := false
	_, err := DecideConsent(ctx, p.store, c.Hash, now, func(c grantd.Consent, g *grantd.Grant) (grantd.ConsentDecision, error) {
		approved = false
		if c.UserID != userID {
			return grantd.ConsentDecision{}, badConsent("is not valid")
		}
		denied := grantd.DeviceCode{Hash: c.DeviceCodeHash, ClientID: c.ClientID, Status: grantd.DeviceDenied}
		// The client may have changed while the user was deciding.
		if !allowed || !client.Allows(grantd.GrantDeviceCode) || !grantd.Subset(c.Scopes, p.allowedScopes(client)) {
			return grantd.ConsentDecision{Device: &denied}, nil
		}
		grant := widenGrant(g, grantd.Grant{ID: grantID, UserID: userID, ClientID: client.ID}, c.Scopes, now)
		approved = true
		return grantd.ConsentDecision{Grant: &grant, Device: &grantd.DeviceCode{
			Hash: c.DeviceCodeHash, ClientID: c.ClientID, Status: grantd.DeviceApproved, UserID: userID, GrantID: grant.ID,
		}}, nil
	})
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		return "", badConsent("has already been used")
	case errors.Is(err, errDeviceDecided):
		return "", badConsent("is for a device sign-in that was decided already or has expired; start again on your device")
	case errors.Is(err, grantd.ErrNotFound):
		return "", badConsent("is not valid")
	case err != nil:
		var ge *grantd.Error
		if errors.As(err, &ge) {
			return "", ge
		}
		return "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return p.DeviceResultURL(approved), nil
}

// widenGrant answers the grant a decision leaves: existing widened by
// scopes, or, when there is none, fresh (ID, UserID, ClientID) holding
// scopes.
func widenGrant(existing *grantd.Grant, fresh grantd.Grant, scopes []string, now time.Time) grantd.Grant {
	now = now.Truncate(time.Second)
	if existing == nil {
		fresh.Scopes = append([]string(nil), scopes...)
		fresh.CreatedAt, fresh.UpdatedAt = now, now
		return fresh
	}
	g := *existing
	g.Scopes = append([]string(nil), g.Scopes...)
	for _, s := range scopes {
		if !grantd.Subset([]string{s}, g.Scopes) {
			g.Scopes = append(g.Scopes, s)
			g.UpdatedAt = now
		}
	}
	return g
}

// deviceCode runs the device grant at the token endpoint (RFC 8628 §3.4,
// §3.5): authorization_pending until the person decides, slow_down for a
// poll sooner than the interval (which grows by 5 s), access_denied,
// expired_token; on approval the tokens, under the person's grant, once.
func (p *Provider) deviceCode(ctx context.Context, c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if !c.Allows(grantd.GrantDeviceCode) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the device_code grant")
	}
	if req.DeviceCode == "" {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidRequest, "device_code is required")
	}
	if len(req.Resources) > 1 {
		return TokenResponse{}, errOneResource()
	}
	if len(req.DeviceCode) > maxConsentTokenLength || !token.HasPrefix(req.DeviceCode, token.PrefixDeviceCode) {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "the device code is invalid")
	}
	withRefresh := c.Allows(grantd.GrantRefreshToken)
	now := p.now()

	var resp TokenResponse
	dc, err := PollDeviceCode(ctx, p.store, token.Hash(req.DeviceCode), now, func(dc grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error) {
		if dc.ClientID != c.ID {
			// Another client's code reads as an unknown one.
			return dc, nil, grantd.E(grantd.CodeInvalidGrant, "the device code is invalid")
		}
		if !now.Before(dc.ExpiresAt) {
			return dc, nil, grantd.E(grantd.CodeExpiredToken, "the device code has expired; start again")
		}
		last := dc.LastPolledAt
		polled := now
		dc.LastPolledAt = &polled
		if last != nil && now.Before(last.Add(time.Duration(dc.Interval)*time.Second)) {
			dc.Interval += 5
			return dc, nil, grantd.E(grantd.CodeSlowDown, "polling too fast: wait %d seconds between requests", dc.Interval)
		}
		switch dc.Status {
		case grantd.DevicePending:
			return dc, nil, grantd.E(grantd.CodeAuthorizationPending, "the user has not decided yet")
		case grantd.DeviceDenied:
			return dc, nil, grantd.E(grantd.CodeAccessDenied, "the user denied the request")
		}
		aud, err := p.grantedAudience(dc.Resource, req.Resources)
		if err != nil {
			return dc, nil, err
		}
		scopes, err := narrowScope(req.Scope, dc.Scopes, p.allowedScopes(c))
		if err != nil {
			return dc, nil, err
		}
		scope := joinScopes(scopes)
		at, err := p.sign(now, accessToken{subject: dc.UserID, clientID: c.ID, audience: aud, scope: scope, grantID: dc.GrantID})
		if err != nil {
			return dc, nil, err
		}
		used := now
		dc.UsedAt = &used
		resp = TokenResponse{AccessToken: at.token, ExpiresIn: p.expiresIn(), Scope: scope}
		if !withRefresh {
			return dc, nil, nil
		}
		var rt grantd.RefreshToken
		resp.RefreshToken, rt.Hash = token.NewOpaque(token.PrefixRefreshToken)
		rt.FamilyID = token.NewID()
		rt.GrantID = dc.GrantID
		rt.ClientID = c.ID
		rt.UserID = dc.UserID
		rt.Scopes = dc.Scopes
		rt.Resource = dc.Resource
		rt.CreatedAt = now
		rt.ExpiresAt = now.Add(p.cfg.RefreshTokenTTL)
		rt.AccessJTI = at.jti
		rt.AccessExpiresAt = at.expiresAt
		rt.AccessScopes = scopes
		return dc, &rt, nil
	})
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		p.log.WarnContext(ctx, "device code used twice", "client_id", c.ID, "grant_id", dc.GrantID)
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "the device code was already used")
	case err != nil:
		return TokenResponse{}, storeErr(err, "the device code is invalid")
	}
	return resp, nil
}

// PollDeviceCode is the rule of polling with a device code, in one unit
// of work (Store.InGrant). A device code already redeemed answers it with
// ErrAlreadyUsed, without calling poll. Otherwise poll runs on it and
// answers it as it must be written (the poll time, the interval, and
// UsedAt when it issued tokens), the refresh token to store (or nil) and
// its answer: a *grantd.Error (pending, slow down, denied, expired) is
// returned after what poll answered was written, so that the poll is
// remembered; any other error writes nothing. When UsedAt was set the
// refresh token is stored and the grant's last_used_at set, in the same
// unit. Of concurrent polls of an approved code exactly one redeems it.
func PollDeviceCode(ctx context.Context, st grantd.Store, hash string, now time.Time,
	poll func(grantd.DeviceCode) (grantd.DeviceCode, *grantd.RefreshToken, error)) (grantd.DeviceCode, error) {
	var (
		out    grantd.DeviceCode
		used   bool
		answer *grantd.Error
	)
	err := st.InGrant(ctx, func(tx grantd.GrantTx) error {
		out, used, answer = grantd.DeviceCode{}, false, nil
		dc, err := tx.DeviceCode(hash)
		if err != nil {
			return err
		}
		if dc.UsedAt != nil {
			out, used = dc, true
			return nil
		}
		next, rt, err := poll(dc)
		if err != nil && !errors.As(err, &answer) {
			return err
		}
		// Only what polling changes is taken from poll's answer.
		dc.Interval, dc.LastPolledAt = next.Interval, next.LastPolledAt
		if answer == nil {
			dc.UsedAt = next.UsedAt
		}
		if err := tx.UpdateDeviceCode(dc); err != nil {
			return err
		}
		if dc.UsedAt != nil {
			if rt != nil {
				if err := tx.CreateRefreshToken(*rt); err != nil {
					return err
				}
			}
			if err := tx.TouchGrant(dc.GrantID, now); err != nil {
				return err
			}
		}
		out = dc
		return nil
	})
	switch {
	case err != nil:
		return grantd.DeviceCode{}, err
	case answer != nil:
		return out, answer
	}
	return settled(out, nil, used, "device code", grantd.ErrAlreadyUsed)
}
