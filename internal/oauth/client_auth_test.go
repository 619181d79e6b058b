package oauth

import (
	"context"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

func TestAuthenticateClient(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	conf := e.client(t)
	pub := e.client(t, public)
	noSecret := e.client(t, func(c *grantd.Client) { c.SecretHash = "" })
	// RFC 6749 §2.3.1: Basic carries the form-urlencoded id and secret.
	odd := e.client(t, func(c *grantd.Client) { c.ID = "a b+c:d%"; c.SecretHash = token.Hash("s e+c:r%t") })

	tests := []struct {
		name        string
		auth        ClientAuth
		allowPublic bool
		wantID      string
		wantCode    grantd.Code
	}{
		{"basic", ClientAuth{Basic: true, BasicUser: conf.ID, BasicPassword: "secret"}, true, conf.ID, ""},
		{"basic with the same client_id in the body", ClientAuth{Basic: true, BasicUser: conf.ID, BasicPassword: "secret", ClientID: conf.ID}, true, conf.ID, ""},
		{"basic is form-urlencoded", ClientAuth{Basic: true, BasicUser: "a+b%2Bc%3Ad%25", BasicPassword: "s+e%2Bc%3Ar%25t"}, true, odd.ID, ""},
		{"post", ClientAuth{ClientID: conf.ID, ClientSecret: "secret"}, false, conf.ID, ""},
		{"none for a public client", ClientAuth{ClientID: pub.ID}, true, pub.ID, ""},
		{"basic with an empty password for a public client", ClientAuth{Basic: true, BasicUser: pub.ID}, true, pub.ID, ""},

		{"nothing", ClientAuth{}, true, "", grantd.CodeInvalidClient},
		{"unknown client", ClientAuth{ClientID: "nope", ClientSecret: "secret"}, true, "", grantd.CodeInvalidClient},
		{"wrong secret", ClientAuth{Basic: true, BasicUser: conf.ID, BasicPassword: "Secret"}, true, "", grantd.CodeInvalidClient},
		{"basic without percent-decoding matches nothing", ClientAuth{Basic: true, BasicUser: odd.ID, BasicPassword: "s e+c:r%t"}, true, "", grantd.CodeInvalidClient},
		{"malformed percent-encoding", ClientAuth{Basic: true, BasicUser: "%zz", BasicPassword: "x"}, true, "", grantd.CodeInvalidClient},
		{"malformed basic header", ClientAuth{Basic: true}, true, "", grantd.CodeInvalidClient},
		{"confidential client with client_id alone", ClientAuth{ClientID: conf.ID}, true, "", grantd.CodeInvalidClient},
		{"confidential client without a stored secret", ClientAuth{ClientID: noSecret.ID, ClientSecret: "secret"}, true, "", grantd.CodeInvalidClient},
		{"confidential client without a stored secret, empty secret", ClientAuth{Basic: true, BasicUser: noSecret.ID}, true, "", grantd.CodeInvalidClient},
		{"public client with a secret", ClientAuth{ClientID: pub.ID, ClientSecret: "x"}, true, "", grantd.CodeInvalidClient},
		{"public client where confidential is required", ClientAuth{ClientID: pub.ID}, false, "", grantd.CodeInvalidClient},
		{"overlong client_id", ClientAuth{ClientID: string(make([]byte, 300))}, true, "", grantd.CodeInvalidClient},
		{"two methods", ClientAuth{Basic: true, BasicUser: conf.ID, BasicPassword: "secret", ClientSecret: "secret"}, true, "", grantd.CodeInvalidRequest},
		{"client_id disagrees with basic", ClientAuth{Basic: true, BasicUser: conf.ID, BasicPassword: "secret", ClientID: pub.ID}, true, "", grantd.CodeInvalidRequest},
		{"secret without client_id", ClientAuth{ClientSecret: "secret"}, true, "", grantd.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.p.AuthenticateClient(context.Background(), tt.auth, tt.allowPublic)
			if got := codeOf(err); got != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if c.ID != tt.wantID {
				t.Errorf("client %q, want %q", c.ID, tt.wantID)
			}
		})
	}
}

// codeOf answers the code of an error, "" for none.
func codeOf(err error) grantd.Code {
	if err == nil {
		return ""
	}
	return grantd.ErrorCode(err)
}
