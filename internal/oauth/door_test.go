package oauth

import (
	"go/build"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// The engine is the only door: no method of the Provider hands out its
// store or its key ring, so an adapter cannot go around the engine.
func TestProviderHandsOutNoStoreOrKeys(t *testing.T) {
	t.Parallel()
	store := reflect.TypeFor[grantd.Store]()
	keys := reflect.TypeFor[*token.Keyring]()
	pt := reflect.TypeFor[*Provider]()
	for i := range pt.NumMethod() {
		m := pt.Method(i)
		for j := range m.Type.NumOut() {
			out := m.Type.Out(j)
			if out == keys || (out.Kind() == reflect.Interface && out.Implements(store)) || out.Implements(store) {
				t.Errorf("Provider.%s answers a %s: adapters would bypass the engine", m.Name, out)
			}
		}
	}
}

// The adapters import no store package (their tests may, through the
// harness).
func TestAdaptersImportNoStore(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../httpapi", "../web", "../session"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(pkg.Imports, func(s string) bool {
			return strings.Contains(s, "/internal/store")
		}); i >= 0 {
			t.Errorf("%s imports %s", dir, pkg.Imports[i])
		}
	}
}
