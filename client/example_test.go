package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/grantd/grantd/client"
)

func Example() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2", client.WithAPIKey(os.Getenv("GRANTD_API_KEY")))

	oc, err := c.CreateClient(ctx, client.CreateClientParams{
		Name:              "My OAuth client",
		ClientType:        "confidential",
		AllowedScopes:     []string{"admin"},
		AllowedGrantTypes: []string{"client_credentials"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The secret is shown once, in this answer only.
	tok, err := c.Token(ctx, client.TokenParams{ClientID: oc.ClientID, ClientSecret: oc.ClientSecret})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.ExpiresIn, tok.Scope)
}

func ExampleClient_ListClients() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2", client.WithAPIKey(os.Getenv("GRANTD_API_KEY")))
	l, err := c.ListClients(ctx, client.ListClientsParams{PageNumber: 2, PageSize: 10})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("page %d of %d, %d clients\n", l.Meta.PageNumber, l.Meta.TotalPages, l.Meta.TotalResults)
}

func ExampleClient_Clients() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2", client.WithAPIKey(os.Getenv("GRANTD_API_KEY")))
	// Every page, 100 at a time; breaking out asks for no further page.
	for oc, err := range c.Clients(ctx, client.ListClientsParams{PageSize: 100, ClientType: "public"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(oc.ClientID, oc.Name)
	}
}

func ExampleWithRetries() {
	// Up to five retries of a 429 or 503, none after a Retry-After of
	// more than a minute; the context still bounds the whole call.
	c := client.New("http://127.0.0.1:8080/v2", client.WithRetries(client.RetryPolicy{
		MaxRetries: 5, MaxWait: time.Minute, Backoff: time.Second,
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Metadata(ctx); err != nil {
		log.Fatal(err)
	}
}

func ExampleClient_UpdateClient() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2", client.WithAPIKey(os.Getenv("GRANTD_API_KEY")))
	// Only the fields set are sent; the others keep their values.
	name := "Renamed"
	if _, err := c.UpdateClient(ctx, "oKjoR4QQggV6060mI9EKLQ", client.UpdateClientParams{Name: &name}); err != nil {
		log.Fatal(err)
	}
}

func ExampleError() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2", client.WithAPIKey(os.Getenv("GRANTD_API_KEY")))
	_, err := c.GetClient(ctx, "no-such-client")
	var e *client.Error
	if errors.As(err, &e) && e.StatusCode == 404 {
		// Management errors carry the Telnyx envelope's entries…
		for _, en := range e.Errors {
			fmt.Println(en.Code, en.Detail, en.Pointer)
		}
	}
	_, err = c.Token(ctx, client.TokenParams{ClientID: "id", ClientSecret: "wrong"})
	if errors.As(err, &e) {
		// …protocol errors the RFC 6749 code and description.
		fmt.Println(e.Code, e.Description)
	}
	// Status, ErrorCode and Pointers read the same in both formats.
	_, err = c.CreateClient(ctx, client.CreateClientParams{Name: "x", ClientType: "public"})
	if errors.As(err, &e) && e.Status() == 422 {
		fmt.Println(e.ErrorCode(), e.Pointers()) // 10027 [/allowed_scopes /allowed_grant_types]
	}
}

func ExampleClient_Introspect() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080/v2")
	in, err := c.Introspect(ctx, client.IntrospectParams{
		ClientID: os.Getenv("CLIENT_ID"), ClientSecret: os.Getenv("CLIENT_SECRET"), Token: os.Getenv("ACCESS_TOKEN"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Active, in.Subject, in.Scope)
}
