package rs

import "net/http"

// metadataDocument is the protected resource metadata (RFC 9728 §2)
// of the API a Verifier protects.
type metadataDocument struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
	ScopesSupported      []string `json:"scopes_supported,omitempty"`
	BearerMethods        []string `json:"bearer_methods_supported"`
	ResourceName         string   `json:"resource_name,omitempty"`
}

// MetadataPath answers the path of Config.ResourceMetadataURL, where
// MetadataHandler belongs on this API's mux:
//
//	mux.Handle(v.MetadataPath(), v.MetadataHandler())
func (v *Verifier) MetadataPath() string { return v.mdPath }

// MetadataHandler serves this API's protected resource metadata (RFC
// 9728): "resource" is Config.Audience exactly, "authorization_servers"
// holds Config.Issuer, "bearer_methods_supported" is ["header"], with
// Config.ScopesSupported and Config.ResourceName when set. It answers
// GET and HEAD, and OPTIONS as a CORS preflight; every answer carries
// Access-Control-Allow-Origin: * (no credentials), so that clients
// running in a browser can read it. Other methods get 405.
func (v *Verifier) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "public, max-age=3600")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(v.metadata)
			}
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
		default:
			h.Set("Allow", "GET, HEAD, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "the metadata document answers GET")
		}
	})
}
