package httperr

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"testing"

	"github.com/grantd/grantd"
)

// Every code of the root package has a row, so that no adapter falls
// back to a status of its own for it.
func TestEveryCodeHasARow(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "../../error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || vs.Type == nil {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		for _, v := range vs.Values {
			lit := v.(*ast.BasicLit)
			c := grantd.Code(strings.Trim(lit.Value, `"`))
			n++
			if _, ok := table[c]; !ok {
				t.Errorf("code %s has no row", c)
			}
		}
		return true
	})
	if n != len(table) {
		t.Errorf("error.go declares %d codes, the table has %d rows", n, len(table))
	}
}

// A wrapped cause is never sent: neither body carries it.
func TestBodiesNeverCarryTheCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: password authentication failed for user grantd")
	for _, code := range []grantd.Code{grantd.CodeServerError, grantd.CodeInvalidGrant, grantd.CodeValidation} {
		e := grantd.Wrap(code, cause, "internal error")
		for name, render := range map[string]func(*grantd.Error) (int, []byte){"oauth": OAuth, "telnyx": Telnyx} {
			_, b := render(e)
			if strings.Contains(string(b), "password") {
				t.Errorf("%s body of %s carries the cause: %s", name, code, b)
			}
		}
	}
}

// One internal code: its rows say 500 and server_error everywhere.
func TestOneInternalCode(t *testing.T) {
	t.Parallel()
	r := Of(grantd.ErrorCode(errors.New("disk on fire")))
	if r.Status != http.StatusInternalServerError || r.OAuthStatus != http.StatusInternalServerError ||
		r.OAuthName != grantd.CodeServerError || r.TelnyxCode != "10007" || r.Page != http.StatusInternalServerError {
		t.Errorf("a foreign error answers %+v", r)
	}
}
