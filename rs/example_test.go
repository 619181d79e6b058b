package rs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/grantd/grantd/rs"
)

// An API protects its routes with the scopes each needs. Clients get
// tokens for it from grantd with resource=https://api.example.com/v1.
func Example() {
	v, err := rs.New(rs.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com/v1",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/messages", v.Middleware("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := rs.FromContext(r.Context())
		fmt.Fprintf(w, "messages of %s, read by client %s\n", tok.Subject, tok.ClientID)
	})))
	mux.Handle("POST /v1/messages", v.Middleware("write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	log.Fatal(http.ListenAndServe(":8081", mux))
}

// Routes where a revoked token must stop working at once use a second
// Verifier that asks grantd about every token.
func ExampleConfig_introspection() {
	payments, err := rs.New(rs.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com/v1",
		Introspection: &rs.Introspection{
			ClientID:     "8qI2tC7qexVUVvItjkzVpA", // a confidential client of the API's own
			ClientSecret: "grantd_secret_…",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /v1/payments", payments.Middleware("payments")(http.NotFoundHandler()))
}

// Without the middleware (a gRPC interceptor, a queue consumer), call
// Verify and tell a refused token from grantd being unreachable.
func ExampleVerifier_Verify() {
	v, err := rs.New(rs.Config{Issuer: "https://auth.example.com", Audience: "https://api.example.com/v1"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := v.Verify(context.Background(), "eyJhbGciOi…")
	switch {
	case errors.Is(err, rs.ErrInvalidToken):
		fmt.Println("refused:", err)
	case err != nil:
		fmt.Println("try again later:", err)
	case !tok.HasScope("read"):
		fmt.Println("forbidden")
	}
	// Output:
	// refused: rs: invalid access token: the token is not a JWT
}

// A request without a token gets the RFC 6750 challenge, which points
// the client to the protected resource metadata.
func ExampleVerifier_Middleware() {
	v, err := rs.New(rs.Config{Issuer: "https://auth.example.com", Audience: "https://api.example.com/v1"})
	if err != nil {
		log.Fatal(err)
	}
	h := v.Middleware("read")(http.NotFoundHandler())

	res := httptest.NewRecorder()
	h.ServeHTTP(res, httptest.NewRequest(http.MethodGet, "/v1/messages", nil))
	fmt.Println(res.Code)
	fmt.Println(res.Header().Get("WWW-Authenticate"))
	fmt.Print(res.Body)
	// Output:
	// 401
	// Bearer realm="grantd", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1", scope="read"
	// {"error":"invalid_request","error_description":"this API needs an access token in Authorization: Bearer"}
}
