// Package session is the browser session shared by the web pages (which
// create it at sign-in) and the authorize endpoint (which reads it): a
// random cookie whose SHA-256 hash keys the row in the store.
package session

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// CookieName is the session cookie. HttpOnly, SameSite=Lax, Path=/ and
// Secure when the issuer is https.
const CookieName = "grantd_session"

// Getter reads sessions: the engine (oauth.Provider) or a store.
type Getter interface {
	GetSession(ctx context.Context, hash string) (grantd.Session, error)
}

// Creator records sessions: the engine (oauth.Provider) or a store.
type Creator interface {
	CreateSession(ctx context.Context, s grantd.Session) error
}

// Lookup answers the live session of the request's cookie, if any.
func Lookup(ctx context.Context, st Getter, r *http.Request, now time.Time) (grantd.Session, bool, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || !token.HasPrefix(c.Value, token.PrefixSession) || len(c.Value) > 128 {
		return grantd.Session{}, false, nil
	}
	s, err := st.GetSession(ctx, token.Hash(c.Value))
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.Session{}, false, nil
	}
	if err != nil {
		return grantd.Session{}, false, err
	}
	if !now.Before(s.ExpiresAt) {
		return grantd.Session{}, false, nil
	}
	return s, true, nil
}

// Create starts a session for the user and answers the cookie to set.
func Create(ctx context.Context, st Creator, userID string, now time.Time, ttl time.Duration, secure bool) (*http.Cookie, grantd.Session, error) {
	value, hash := token.NewOpaque(token.PrefixSession)
	csrf, _ := token.NewOpaque("")
	s := grantd.Session{Hash: hash, UserID: userID, CSRFToken: csrf, CreatedAt: now.UTC(), ExpiresAt: now.UTC().Add(ttl)}
	if err := st.CreateSession(ctx, s); err != nil {
		return nil, grantd.Session{}, err
	}
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		Expires:  s.ExpiresAt,
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}, s, nil
}

// Clear answers the cookie that removes the session cookie.
func Clear(secure bool) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
}
