package sqlite

import (
	"context"

	"github.com/grantd/grantd"
)

const consentCols = `hash, user_id, client_id, redirect_uri, scopes, state, code_challenge,
	code_challenge_method, resource, created_at, expires_at, used_at`

func getConsent(ctx context.Context, q querier, hash string) (grantd.Consent, error) {
	var c grantd.Consent
	err := q.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.UserID, &c.ClientID, &c.RedirectURI, listCol{&c.Scopes}, &c.State, &c.CodeChallenge,
			&c.CodeChallengeMethod, &c.Resource, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTimeCol{&c.UsedAt})
	if err != nil {
		return grantd.Consent{}, dbErr("consent", err)
	}
	return c, nil
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.UserID, c.ClientID, c.RedirectURI, list(c.Scopes), c.State, c.CodeChallenge,
		c.CodeChallengeMethod, c.Resource, micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt))
	if err != nil {
		return dbErr("create consent", err)
	}
	return nil
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return getConsent(ctx, s.r, hash)
}
