package postgres

import (
	"context"

	"github.com/grantd/grantd"
)

const consentCols = `hash, user_id, client_id, redirect_uri, scopes, state, code_challenge,
	code_challenge_method, resource, created_at, expires_at, used_at`

// getConsent reads one consent; lock is "" or a locking clause.
func getConsent(ctx context.Context, q querier, hash, lock string) (grantd.Consent, error) {
	var c grantd.Consent
	err := q.QueryRow(ctx, `SELECT `+consentCols+` FROM consents WHERE hash = $1 `+lock, hash).
		Scan(&c.Hash, &c.UserID, &c.ClientID, &c.RedirectURI, &c.Scopes, &c.State, &c.CodeChallenge,
			&c.CodeChallengeMethod, &c.Resource, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt)
	if err != nil {
		return grantd.Consent{}, dbErr("consent", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (`+consentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.Hash, c.UserID, c.ClientID, c.RedirectURI, list(c.Scopes), c.State, c.CodeChallenge,
		c.CodeChallengeMethod, c.Resource, ts(c.CreatedAt), ts(c.ExpiresAt), nullTS(c.UsedAt))
	if err != nil {
		return dbErr("create consent", err)
	}
	return nil
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return getConsent(ctx, s.pool, hash, "")
}
