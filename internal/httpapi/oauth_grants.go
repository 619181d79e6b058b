package httpapi

import (
	"net/http"

	"github.com/grantd/grantd"
)

// grantJSON is the wire form of a grant (record_type oauth_grant).
type grantJSON struct {
	ID         string   `json:"id"`
	RecordType string   `json:"record_type"`
	ClientID   string   `json:"client_id"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
}

func renderGrant(g grantd.Grant) grantJSON {
	j := grantJSON{
		ID:         g.ID,
		RecordType: "oauth_grant",
		ClientID:   g.ClientID,
		Scopes:     nonNil(g.Scopes),
		CreatedAt:  rfc3339(g.CreatedAt),
	}
	if g.LastUsedAt != nil {
		j.LastUsedAt = ptr(rfc3339(*g.LastUsedAt))
	}
	return j
}

// listGrants is GET /v2/oauth_grants: the caller's grants, newest first.
func (s *Server) listGrants(w http.ResponseWriter, r *http.Request, p Principal) error {
	page, err := listRequest(r, nil) // grants have no filters
	if err != nil {
		return err
	}
	gs, total, err := s.oauth.ListGrants(r.Context(), p.UserID, page)
	if err != nil {
		return err
	}
	data := make([]grantJSON, len(gs))
	for i, g := range gs {
		data[i] = renderGrant(g)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": pageMeta(page, total)})
	return nil
}

// getGrant is GET /v2/oauth_grants/{id}.
func (s *Server) getGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := s.oauth.OwnGrant(r.Context(), p.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": renderGrant(g)})
	return nil
}

// revokeGrant is DELETE /v2/oauth_grants/{id}: it answers the grant as it
// was, which is then gone with every token issued under it.
func (s *Server) revokeGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := s.oauth.RevokeGrant(r.Context(), p.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": renderGrant(g)})
	return nil
}
