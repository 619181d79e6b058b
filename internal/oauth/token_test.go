package oauth

import (
	"slices"
	"testing"

	"github.com/grantd/grantd"
)

func TestNarrowScope(t *testing.T) {
	t.Parallel()
	granted := []string{"read", "write", "admin"}
	tests := []struct {
		name      string
		requested string
		client    []string
		want      []string
		wantCode  grantd.Code
	}{
		{"none requested: all granted", "", granted, granted, ""},
		{"narrower", "write read", granted, []string{"write", "read"}, ""},
		{"wider", "read billing", granted, nil, grantd.CodeInvalidScope},
		{"malformed", `read "x"`, granted, nil, grantd.CodeInvalidScope},
		{"client allowance shrank", "", []string{"read"}, []string{"read"}, ""},
		{"client allowed none of them any more", "write", []string{"read"}, nil, grantd.CodeInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := narrowScope(tt.requested, granted, tt.client)
			if codeOf(err) != tt.wantCode {
				t.Fatalf("error %v, want %q", err, tt.wantCode)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scopes %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAudiences(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	const api = "https://api.example/v1"
	tests := []struct {
		name      string
		granted   *string // nil: requestedAudience; else grantedAudience
		resources []string
		want      string
		wantCode  grantd.Code
	}{
		{"no resource: the issuer", nil, nil, flowIssuer, ""},
		{"configured resource", nil, []string{api}, api, ""},
		{"normalised match answers the configured string", nil, []string{"HTTPS://api.EXAMPLE:443/v1"}, api, ""},
		{"the API itself", nil, []string{flowIssuer + "/v2"}, flowIssuer + "/v2", ""},
		{"empty path equals /", nil, []string{flowIssuer + "/"}, flowIssuer, ""},
		{"unknown", nil, []string{"https://evil.example/"}, "", grantd.CodeInvalidTarget},
		{"fragment", nil, []string{api + "#x"}, "", grantd.CodeInvalidTarget},
		{"two", nil, []string{api, api}, "", grantd.CodeInvalidTarget},

		{"granted, none asked", ptrTo(api), nil, api, ""},
		{"granted, same asked", ptrTo(api), []string{"https://API.example/v1"}, api, ""},
		{"granted, other asked", ptrTo(api), []string{flowIssuer}, "", grantd.CodeInvalidTarget},
		{"none granted, none asked", ptrTo(""), nil, flowIssuer, ""},
		{"none granted, the issuer asked", ptrTo(""), []string{flowIssuer}, flowIssuer, ""},
		{"none granted, another asked", ptrTo(""), []string{api}, "", grantd.CodeInvalidTarget},
		{"granted resource no longer configured", ptrTo("https://gone.example/"), []string{"https://gone.example/"}, "", grantd.CodeInvalidTarget},
		{"granted, two asked", ptrTo(api), []string{api, api}, "", grantd.CodeInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			if tt.granted == nil {
				got, err = e.p.requestedAudience(tt.resources)
			} else {
				got, err = e.p.grantedAudience(*tt.granted, tt.resources)
			}
			if codeOf(err) != tt.wantCode || got != tt.want {
				t.Errorf("got %q, %v; want %q, code %q", got, err, tt.want, tt.wantCode)
			}
		})
	}
}

func ptrTo(s string) *string { return &s }

func TestClientScopes(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	tests := []struct {
		name      string
		allowed   []string
		requested string
		want      []string
		wantCode  grantd.Code
	}{
		{"default: every allowed scope", []string{"write", "read"}, "", []string{"write", "read"}, ""},
		{"blank is the default", []string{"read"}, "   ", []string{"read"}, ""},
		{"subset", []string{"write", "read"}, "read", []string{"read"}, ""},
		{"not allowed", []string{"read"}, "read write", nil, grantd.CodeInvalidScope},
		{"default skips scopes gone from the catalog", []string{"gone", "read", "old"}, "", []string{"read"}, ""},
		{"a scope gone from the catalog is refused", []string{"gone", "read"}, "gone", nil, grantd.CodeInvalidScope},
		{"nothing left", []string{"gone"}, "", nil, grantd.CodeInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.p.clientScopes(grantd.Client{Scopes: tt.allowed}, tt.requested)
			if codeOf(err) != tt.wantCode || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v, code %q", got, err, tt.want, tt.wantCode)
			}
		})
	}
}
