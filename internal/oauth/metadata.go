package oauth

import "github.com/grantd/grantd"

// ServerMetadata is the authorization server metadata (RFC 8414, SPEC §4).
type ServerMetadata struct {
	Issuer                                 string
	AuthorizationEndpoint                  string
	TokenEndpoint                          string
	IntrospectionEndpoint                  string
	RevocationEndpoint                     string
	JWKSURI                                string
	RegistrationEndpoint                   string // empty when registration is disabled
	ResponseTypesSupported                 []string
	GrantTypesSupported                    []string
	CodeChallengeMethodsSupported          []string
	ScopesSupported                        []string
	TokenEndpointAuthMethodsSupported      []string
	IntrospectionEndpointAuthMethods       []string
	RevocationEndpointAuthMethodsSupported []string
	AuthorizationResponseISSParameter      bool
	ClientIDMetadataDocumentSupported      bool
	DeviceAuthorizationEndpoint            string // RFC 8628 §4
}

// APIBase is where every endpoint of this server lives: {issuer}/v2.
func (p *Provider) APIBase() string { return p.cfg.Issuer + "/v2" }

// ServerMetadata answers what this server supports. A disabled dynamic
// registration is not advertised: a client that finds the endpoint in the
// metadata would otherwise try it and fail.
func (p *Provider) ServerMetadata() ServerMetadata {
	base := p.APIBase()
	m := ServerMetadata{
		Issuer:                 p.cfg.Issuer,
		AuthorizationEndpoint:  base + "/oauth/authorize",
		TokenEndpoint:          base + "/oauth/token",
		IntrospectionEndpoint:  base + "/oauth/introspect",
		RevocationEndpoint:     base + "/oauth/revoke",
		JWKSURI:                base + "/oauth/jwks",
		ResponseTypesSupported: []string{"code"},
		GrantTypesSupported: []string{grantd.GrantAuthorizationCode, grantd.GrantClientCredentials, grantd.GrantRefreshToken,
			grantd.GrantDeviceCode,
		},
		CodeChallengeMethodsSupported: []string{"S256"},
		ScopesSupported:               p.catalog.IDs(),
		TokenEndpointAuthMethodsSupported: []string{
			grantd.AuthMethodNone, grantd.AuthMethodClientSecretBasic, grantd.AuthMethodClientSecretPost,
		},
		// Introspection reveals what a token is good for: public clients,
		// which anyone can impersonate, may not ask.
		IntrospectionEndpointAuthMethods: []string{grantd.AuthMethodClientSecretBasic, grantd.AuthMethodClientSecretPost},
		RevocationEndpointAuthMethodsSupported: []string{
			grantd.AuthMethodNone, grantd.AuthMethodClientSecretBasic, grantd.AuthMethodClientSecretPost,
		},
		AuthorizationResponseISSParameter: true,
		ClientIDMetadataDocumentSupported: true,
		DeviceAuthorizationEndpoint:       base + "/oauth/device_authorization",
	}
	if p.cfg.Registration != RegistrationDisabled {
		m.RegistrationEndpoint = base + "/oauth/register"
	}
	m.GrantTypesSupported = append(m.GrantTypesSupported, grantd.GrantTokenExchange)
	return m
}

// ResourceMetadata is the protected resource metadata (RFC 9728) of this
// server's own API.
type ResourceMetadata struct {
	Resource               string
	AuthorizationServers   []string
	ScopesSupported        []string
	BearerMethodsSupported []string
}

// ResourceMetadata answers the metadata of the API under one of its two
// identifiers, the issuer or {issuer}/v2: RFC 9728 §3.3 requires the
// document's resource to equal the identifier its URL was formed from.
//
// scopes_supported lists only the scopes a client can obtain by
// registering itself (SPEC §4): the ones that are not sensitive. The
// document is read by clients that are about to register (MCP clients do)
// and then ask for what it lists; a sensitive scope there would only earn
// them invalid_client_metadata. With the default catalog (admin alone)
// the list is empty. The authorization server metadata still lists the
// whole catalog: clients made by their owners may have every scope.
func (p *Provider) ResourceMetadata(resource string) ResourceMetadata {
	return ResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   []string{p.cfg.Issuer},
		ScopesSupported:        p.catalog.NonSensitiveIDs(),
		BearerMethodsSupported: []string{"header"},
	}
}
