package pgtest

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Proxy is a TCP proxy in front of the test server that a test can
// freeze: it stops forwarding bytes in both directions and keeps every
// connection open, as a PostgreSQL server stopped with SIGSTOP (or a
// network that drops packets) looks to its clients: no error, no answer.
// Connections accepted while frozen stay silent too. Thaw forwards what
// was held back and everything after it. The shared server itself is
// never stopped or signalled.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu     sync.Mutex
	thawed chan struct{} // closed while bytes flow
	conns  map[net.Conn]struct{}
	closed bool
}

// NewProxy starts a proxy to the server dsn names and answers it with a
// DSN that connects through it (dsn's other parameters kept). It is
// closed at cleanup.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("pgtest: the DSN does not parse: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	thawed := make(chan struct{})
	close(thawed)
	p := &Proxy{
		ln:       ln,
		upstream: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		thawed:   thawed,
		conns:    map[net.Conn]struct{}{},
	}
	go p.accept()
	t.Cleanup(p.Close)

	addr := ln.Addr().(*net.TCPAddr)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("pgtest: the DSN does not parse as a URL")
		}
		u.Host = addr.String()
		return p, u.String()
	}
	return p, dsn + " host=127.0.0.1 port=" + strconv.Itoa(addr.Port)
}

// Freeze stops forwarding; it returns at once.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default: // already frozen
	}
}

// Thaw forwards again, what was held back first.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.Thaw()
}

func (p *Proxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.thawed
}

// track remembers c for Close; false means the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		client.Close()
		return
	}
	go p.pump(server, client)
	p.pump(client, server)
}

// pump copies src to dst, holding each chunk while the proxy is frozen.
// When either side ends, both are closed.
func (p *Proxy) pump(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			<-p.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
