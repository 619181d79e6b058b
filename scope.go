package grantd

import (
	"slices"
	"strings"
)

// ScopeAdmin lets a token act on the management API for its user. It is
// always sensitive, whatever the scopes file says.
const ScopeAdmin = "admin"

// DefaultScopes is the catalog used when no scopes file is configured.
var DefaultScopes = []Scope{
	{ID: ScopeAdmin, Name: "Administer your account", Description: "Create, change and delete your OAuth clients and grants, and everything else the API lets you do."},
}

// Catalog is the set of scopes clients may ask for, in a stable order.
type Catalog struct {
	scopes []Scope
	byID   map[string]Scope
}

// NewCatalog makes a catalog from scopes; a scope id must be an RFC 6749
// scope-token and appear once.
func NewCatalog(scopes []Scope) (*Catalog, error) {
	c := &Catalog{byID: make(map[string]Scope, len(scopes))}
	for _, s := range scopes {
		if !ValidScopeToken(s.ID) {
			return nil, E(CodeInvalidRequest, "scope catalog: %q is not a valid scope", s.ID)
		}
		if _, dup := c.byID[s.ID]; dup {
			return nil, E(CodeInvalidRequest, "scope catalog: %q appears twice", s.ID)
		}
		if s.Name == "" {
			s.Name = s.ID
		}
		if s.ID == ScopeAdmin {
			s.Sensitive = true
		}
		c.byID[s.ID] = s
		c.scopes = append(c.scopes, s)
	}
	if len(c.scopes) == 0 {
		return nil, E(CodeInvalidRequest, "scope catalog is empty")
	}
	return c, nil
}

// All answers every scope in catalog order.
func (c *Catalog) All() []Scope { return slices.Clone(c.scopes) }

// IDs answers every scope id in catalog order.
func (c *Catalog) IDs() []string {
	ids := make([]string, len(c.scopes))
	for i, s := range c.scopes {
		ids[i] = s.ID
	}
	return ids
}

// NonSensitiveIDs answers the ids of the scopes that are not sensitive, in
// catalog order: every scope a client without an owner may have. The
// answer is never nil, so that it encodes as a JSON array.
func (c *Catalog) NonSensitiveIDs() []string {
	ids := []string{}
	for _, s := range c.scopes {
		if !s.Sensitive {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Sensitive reports whether id names a sensitive scope: one that a client
// without an owner (open registration, a client ID metadata document)
// never gets, because nobody answers for what it does with it. admin is
// sensitive whether or not the catalog lists it.
func (c *Catalog) Sensitive(id string) bool {
	return id == ScopeAdmin || c.byID[id].Sensitive
}

// Get answers the scope with that id.
func (c *Catalog) Get(id string) (Scope, bool) {
	s, ok := c.byID[id]
	return s, ok
}

// Describe answers the catalog entries of ids, in their order, for
// showing people what was asked for or granted. An id the operator has
// since removed from the catalog is shown as itself rather than hidden.
func (c *Catalog) Describe(ids []string) []Scope {
	out := make([]Scope, len(ids))
	for i, id := range ids {
		s, ok := c.byID[id]
		if !ok {
			s = Scope{ID: id, Name: id}
		}
		out[i] = s
	}
	return out
}

// Has reports whether id is in the catalog.
func (c *Catalog) Has(id string) bool { _, ok := c.byID[id]; return ok }

// ValidScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// one or more of %x21 / %x23-5B / %x5D-7E.
func ValidScopeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// ParseScope splits a space-delimited scope parameter into unique tokens,
// keeping their order. It answers false if any token is malformed.
func ParseScope(s string) ([]string, bool) {
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if !ValidScopeToken(tok) {
			return nil, false
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, true
}

// Subset reports whether every element of a is in b.
func Subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
