package client

import "testing"

// A Client made without WithHTTPClient must not wait for ever on a
// server that accepts the connection and never answers.
func TestDefaultHTTPClientHasTimeout(t *testing.T) {
	if got := New("http://127.0.0.1:1/v2").hc.Timeout; got != DefaultTimeout || got <= 0 {
		t.Fatalf("default HTTP client timeout = %v, want %v", got, DefaultTimeout)
	}
}
