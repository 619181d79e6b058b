package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// routes is the whole HTTP surface of grantd in one place.
func (s *Server) routes() {
	s.route("/healthz", methods{"GET": http.HandlerFunc(s.healthz)})
	s.route("/readyz", methods{"GET": http.HandlerFunc(s.readyz)})
	if s.metrics != nil {
		// Prometheus metrics, unless --metrics-addr serves them on a
		// listener of their own (or --metrics=false serves none).
		s.route("/metrics", methods{"GET": s.metrics})
	}

	// Management API (Telnyx envelope).
	s.routeCORS("/v2/oauth_clients", corsListed, methods{
		"GET":  s.managed(s.listClients),
		"POST": s.managed(s.createClient),
	})
	s.routeCORS("/v2/oauth_clients/{id}", corsListed, methods{
		"GET":    s.managed(s.getClient),
		"PUT":    s.managed(s.updateClient),
		"DELETE": s.managed(s.deleteClient),
	})

	// Authorization code flow: the user's side (SPEC §6).
	s.route("/v2/oauth/authorize", methods{"GET": http.HandlerFunc(s.authorize)})
	s.route("/v2/oauth/consent/{consent_token}", methods{"GET": http.HandlerFunc(s.consentDetails)})
	s.route("/v2/oauth/grants", methods{"POST": http.HandlerFunc(s.decideGrant)})
	s.routeCORS("/v2/oauth_grants", corsListed, methods{"GET": s.managed(s.listGrants)})
	s.routeCORS("/v2/oauth_grants/{id}", corsListed, methods{
		"GET":    s.managed(s.getGrant),
		"DELETE": s.managed(s.revokeGrant),
	})

	// Token, introspection, revocation and keys (SPEC §3, RFC 6749/7662/7009).
	// Introspection has no CORS: its callers are resource servers holding
	// credentials, never browsers.
	s.routeCORS("/v2/oauth/token", corsPublic, methods{"POST": http.HandlerFunc(s.token)})
	s.route("/v2/oauth/introspect", methods{"POST": http.HandlerFunc(s.introspect)})
	s.routeCORS("/v2/oauth/revoke", corsPublic, methods{"POST": http.HandlerFunc(s.revoke)})
	s.routeCORS("/v2/oauth/device_authorization", corsPublic, methods{"POST": http.HandlerFunc(s.deviceAuthorization)})
	s.routeCORS("/v2/oauth/jwks", corsPublic, methods{"GET": http.HandlerFunc(s.jwks)})

	// This API's OpenAPI document (docs/openapi.yaml).
	s.route("/v2/openapi.json", methods{"GET": http.HandlerFunc(s.openAPI)})

	// Dynamic client registration (RFC 7591) and its management (RFC 7592).
	s.routeCORS("/v2/oauth/register", corsPublic, methods{"POST": http.HandlerFunc(s.register)})
	s.routeCORS("/v2/oauth/register/{client_id}", corsPublic, methods{
		"GET":    http.HandlerFunc(s.readRegistration),
		"PUT":    http.HandlerFunc(s.updateRegistration),
		"DELETE": http.HandlerFunc(s.deleteRegistration),
	})

	// Discovery (SPEC §4): at the origin root and under /v2.
	asMeta, rootResource, apiResource := metadataDocuments(s.oauth)
	s.routeCORS("/.well-known/oauth-authorization-server", corsPublic, methods{"GET": asMeta})
	s.routeCORS("/v2/.well-known/oauth-authorization-server", corsPublic, methods{"GET": asMeta})
	s.routeCORS("/.well-known/oauth-protected-resource", corsPublic, methods{"GET": rootResource})
	s.routeCORS("/v2/.well-known/oauth-protected-resource", corsPublic, methods{"GET": rootResource})
	s.routeCORS("/.well-known/oauth-protected-resource/v2", corsPublic, methods{"GET": apiResource})

	// People's pages (internal/web), when served. Each path goes whole to
	// the web handler, which answers its own HTML 404 and 405 pages; every
	// other path keeps the API's answers.
	if s.web != nil {
		for _, p := range pagePaths {
			s.mux.Handle(p, s.web)
		}
	}

	// Anything else: 404 in the envelope of the path's family.
	s.mux.HandleFunc("/", s.notFound)
}

// pagePaths are the patterns handed whole to the pages.
var pagePaths = []string{"/{$}", "/login", "/logout", "/consent", "/apps", "/apps/", "/developer", "/developer/", "/static/", "/device"}

// IsPagePath reports whether p (a clean path) is one of the people's
// pages, HTML for browsers and outside the OpenAPI document.
func IsPagePath(p string) bool { return isPagePath(p) }

// isPagePath reports whether one of pagePaths matches p.
func isPagePath(p string) bool {
	for _, pat := range pagePaths {
		switch {
		case pat == "/{$}":
			if p == "/" {
				return true
			}
		case strings.HasSuffix(pat, "/"):
			if strings.HasPrefix(p, pat) {
				return true
			}
		case p == pat:
			return true
		}
	}
	return false
}

type methods map[string]http.Handler

// Route is one method and path pattern the API serves.
type Route struct{ Method, Path string }

// Routes answers every method and path the API serves, in the order
// routes registered them (methods of one path sorted); the people's
// pages and the catch-all are not among them. A test holds the OpenAPI
// document to this list.
func (s *Server) Routes() []Route { return append([]Route(nil), s.table...) }

// route registers each method of a path and answers other methods with
// 405 and Allow, in the path's own error format. It sends no CORS headers.
func (s *Server) route(path string, ms methods) { s.routeCORS(path, corsNone, ms) }

// routeCORS is route with the CORS policy p (cors.go) on every answer of
// the path, 405s included; a path with a policy answers OPTIONS (a
// preflight) too. The management API's policy is none while the operator
// lists no origins.
func (s *Server) routeCORS(path string, p corsPolicy, ms methods) {
	if p == corsListed && len(s.corsOrigins) == 0 {
		p = corsNone
	}
	allow := make([]string, 0, len(ms)+2)
	for _, m := range slices.Sorted(maps.Keys(ms)) {
		s.table = append(s.table, Route{Method: m, Path: path})
	}
	for m, h := range ms {
		s.mux.Handle(m+" "+path, s.withCORS(p, h))
		allow = append(allow, m)
		if m == "GET" {
			allow = append(allow, "HEAD")
		}
	}
	if p != corsNone {
		allow = append(allow, "OPTIONS")
	}
	sort.Strings(allow)
	allowed := strings.Join(allow, ", ")
	if p != corsNone {
		s.mux.Handle("OPTIONS "+path, s.preflight(p, allowed))
	}
	s.mux.Handle(path, s.withCORS(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		s.writeError(w, r, grantd.E(grantd.CodeMethodNotAllowed, "method %s is not allowed here; use %s", token.Echo(r.Method), allowed))
	})))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, grantd.E(grantd.CodeNotFound, "no such endpoint"))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeRaw(w, http.StatusOK, []byte(`{"status":"ok"}`))
}
