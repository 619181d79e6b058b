package httpapi

import (
	"encoding/json"
	"net/http"
)

// serverMetadata is the wire form of RFC 8414 authorization server
// metadata.
type serverMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
}

// resourceMetadata is the wire form of RFC 9728 protected resource
// metadata.
type resourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
}

// metadataMaxAge lets clients cache the discovery documents for a while:
// they change only with the configuration.
const metadataMaxAge = "public, max-age=300"

// metadataDocuments answers the handlers of the discovery documents. The
// documents depend only on the configuration, so each is encoded once.
func metadataDocuments(p Engine) (server, rootResource, apiResource http.Handler) {
	m := p.ServerMetadata()
	server = staticJSON(serverMetadata{
		Issuer:                                     m.Issuer,
		AuthorizationEndpoint:                      m.AuthorizationEndpoint,
		TokenEndpoint:                              m.TokenEndpoint,
		IntrospectionEndpoint:                      m.IntrospectionEndpoint,
		RevocationEndpoint:                         m.RevocationEndpoint,
		JWKSURI:                                    m.JWKSURI,
		RegistrationEndpoint:                       m.RegistrationEndpoint,
		ResponseTypesSupported:                     m.ResponseTypesSupported,
		GrantTypesSupported:                        m.GrantTypesSupported,
		CodeChallengeMethodsSupported:              m.CodeChallengeMethodsSupported,
		ScopesSupported:                            m.ScopesSupported,
		TokenEndpointAuthMethodsSupported:          m.TokenEndpointAuthMethodsSupported,
		IntrospectionEndpointAuthMethodsSupported:  m.IntrospectionEndpointAuthMethods,
		RevocationEndpointAuthMethodsSupported:     m.RevocationEndpointAuthMethodsSupported,
		AuthorizationResponseISSParameterSupported: m.AuthorizationResponseISSParameter,
		ClientIDMetadataDocumentSupported:          m.ClientIDMetadataDocumentSupported,
		DeviceAuthorizationEndpoint:                m.DeviceAuthorizationEndpoint,
	})
	resource := func(id string) http.Handler {
		rm := p.ResourceMetadata(id)
		return staticJSON(resourceMetadata{
			Resource:               rm.Resource,
			AuthorizationServers:   rm.AuthorizationServers,
			ScopesSupported:        rm.ScopesSupported,
			BearerMethodsSupported: rm.BearerMethodsSupported,
		})
	}
	return server, resource(p.Config().Issuer), resource(p.APIBase())
}

// staticJSON answers the same JSON document to every request.
func staticJSON(v any) http.Handler {
	b, err := json.Marshal(v)
	if err != nil {
		panic("httpapi: encoding a metadata document: " + err.Error()) // only plain strings and slices: cannot fail
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", metadataMaxAge)
		writeRaw(w, http.StatusOK, b)
	})
}
