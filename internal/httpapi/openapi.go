package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIJSON is docs/openapi.yaml, the OpenAPI 3.1 document of this API,
// as JSON. The YAML is the source of truth; TestOpenAPIJSONMatchesYAML
// fails when this copy falls behind it and rewrites it with -update, so
// the server needs no YAML parser.
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPI answers the OpenAPI document the server serves at
// /v2/openapi.json (a copy; the caller may change it).
func OpenAPI() []byte { return append([]byte(nil), openAPIJSON...) }

// openAPI serves GET /v2/openapi.json: the document, to anyone.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeRaw(w, http.StatusOK, openAPIJSON)
}
