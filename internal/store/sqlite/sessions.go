package sqlite

import (
	"context"

	"github.com/grantd/grantd"
)

const sessionCols = `hash, user_id, csrf_token, created_at, expires_at`

func (s *Store) CreateSession(ctx context.Context, sess grantd.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?)`,
		sess.Hash, sess.UserID, sess.CSRFToken, micros(sess.CreatedAt), micros(sess.ExpiresAt))
	if err != nil {
		return dbErr("create session", err)
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, hash string) (grantd.Session, error) {
	var sess grantd.Session
	err := s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ?`, hash).
		Scan(&sess.Hash, &sess.UserID, &sess.CSRFToken, timeCol{&sess.CreatedAt}, timeCol{&sess.ExpiresAt})
	if err != nil {
		return grantd.Session{}, dbErr("session", err)
	}
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return mustAffect("session", res, err)
}
