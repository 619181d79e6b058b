package grantd

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "[]", true},
		{"admin", "[admin]", true},
		{"read  write read", "[read write]", true},
		{"messages:read", "[messages:read]", true},
		{"bad\"quote", "", false},
		{"back\\slash", "", false},
		{"tab\tsep", "", false},
		{"é", "", false},
	} {
		got, ok := ParseScope(tc.in)
		if ok != tc.ok || (ok && fmt.Sprint(got) != tc.want) {
			t.Errorf("ParseScope(%q) = %v, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCatalog(t *testing.T) {
	c, err := NewCatalog([]Scope{{ID: "read", Description: "d"}, {ID: "admin", Name: "Admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.IDs()) != "[read admin]" || !c.Has("admin") || c.Has("write") {
		t.Fatalf("catalog %v", c.IDs())
	}
	if s, _ := c.Get("read"); s.Name != "read" {
		t.Fatalf("a scope without a name is named by its id, got %q", s.Name)
	}
	if got := fmt.Sprint(c.Describe([]string{"admin", "gone"})); got != "[{admin Admin  true} {gone gone  false}]" {
		t.Fatalf("Describe = %s; want the entry of admin and gone shown as itself", got)
	}
	for _, bad := range [][]Scope{nil, {{ID: "a"}, {ID: "a"}}, {{ID: "has space"}}} {
		if _, err := NewCatalog(bad); err == nil {
			t.Errorf("NewCatalog(%v) accepted", bad)
		}
	}
	if _, err := NewCatalog(DefaultScopes); err != nil {
		t.Fatalf("the default catalog: %v", err)
	}
}

// TestCatalogSensitive: admin is sensitive whatever the catalog entry
// says, an entry may mark any other scope sensitive, and the scopes a
// client without an owner may have are exactly the others.
func TestCatalogSensitive(t *testing.T) {
	c, err := NewCatalog([]Scope{
		{ID: "read"},
		{ID: ScopeAdmin, Sensitive: false}, // listed as not sensitive: still is
		{ID: "billing", Sensitive: true},
		{ID: "write"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"read": false, "write": false, ScopeAdmin: true, "billing": true, "gone": false} {
		if got := c.Sensitive(id); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", id, got, want)
		}
	}
	if s, _ := c.Get(ScopeAdmin); !s.Sensitive {
		t.Error("the catalog entry of admin is not marked sensitive")
	}
	if got := fmt.Sprint(c.NonSensitiveIDs()); got != "[read write]" {
		t.Errorf("NonSensitiveIDs = %s, want [read write]", got)
	}

	// admin is sensitive even in a catalog that does not list it.
	c, err = NewCatalog([]Scope{{ID: "read"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Sensitive(ScopeAdmin) {
		t.Error("admin is not sensitive in a catalog without it")
	}

	// The default catalog has nothing for a client without an owner, and
	// says so with an empty list, not nil (it is encoded as JSON).
	c, err = NewCatalog(DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	if ids := c.NonSensitiveIDs(); ids == nil || len(ids) != 0 {
		t.Errorf("default catalog: NonSensitiveIDs = %#v, want an empty list", ids)
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("disk on fire")
	e := Wrap(CodeServerError, cause, "internal error")
	if !errors.Is(e, cause) || !errors.Is(e, &Error{Code: CodeServerError}) || errors.Is(e, &Error{Code: CodeNotFound}) {
		t.Fatal("errors.Is does not match by code and cause")
	}
	if AsError(cause).Code != CodeServerError || AsError(cause).Description != "internal error" {
		t.Fatal("a foreign error must become a server error that reveals nothing")
	}
	if ErrorCode(fmt.Errorf("wrapped: %w", E(CodeInvalidGrant, "x"))) != CodeInvalidGrant {
		t.Fatal("ErrorCode does not see through wrapping")
	}
	// Constructors answer fresh values: changing one leaks into no other.
	a, b := E(CodeInvalidGrant, "a"), E(CodeInvalidGrant, "a")
	a.Description = "changed"
	if b.Description != "a" {
		t.Fatal("E shares its values")
	}
	if c := (Client{ID: "cid"}); c.DisplayName() != "cid" || (Client{ID: "cid", Name: "N"}).DisplayName() != "N" {
		t.Fatal("DisplayName")
	}
}
