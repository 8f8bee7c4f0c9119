//go:build e2e

package e2e

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy forwards TCP connections to an engine until it is cut; then, like a host that dropped
// off the network behind a load balancer, it accepts connections and never answers.
type proxy struct {
	l      net.Listener
	target string
	cut    atomic.Bool
	closed chan struct{}
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: strings.TrimPrefix(target, "tcp://"), closed: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return "tcp://" + p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.track(c)
		if p.cut.Load() {
			continue // held open, never answered
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.track(up)
	go func() { p.pipe(up, c); up.Close() }()
	p.pipe(c, up)
	c.Close()
}

// pipe copies src to dst until the proxy is cut: from then on data is swallowed, as on a link
// that went dark without closing anything.
func (p *proxy) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if p.cut.Load() {
			<-p.closed
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

// cutOff stops forwarding: open connections stay open but go silent, new ones are never answered.
func (p *proxy) cutOff() { p.cut.Store(true) }

// restore forwards new connections again (the silent ones stay silent).
func (p *proxy) restore() { p.cut.Store(false) }

func (p *proxy) close() {
	p.cut.Store(true)
	p.l.Close()
	close(p.closed)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
