package postgres

import (
	"context"

	"github.com/grantd/grantd"
)

const sessionCols = `hash, user_id, csrf_token, created_at, expires_at`

func (s *Store) CreateSession(ctx context.Context, sess grantd.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5)`,
		sess.Hash, sess.UserID, sess.CSRFToken, ts(sess.CreatedAt), ts(sess.ExpiresAt))
	if err != nil {
		return dbErr("create session", err)
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, hash string) (grantd.Session, error) {
	var sess grantd.Session
	err := s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, hash).
		Scan(&sess.Hash, &sess.UserID, &sess.CSRFToken, &sess.CreatedAt, &sess.ExpiresAt)
	if err != nil {
		return grantd.Session{}, dbErr("session", err)
	}
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return mustAffect("session", tag, err)
}
