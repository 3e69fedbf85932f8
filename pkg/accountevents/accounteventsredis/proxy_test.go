package accounteventsredis_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP to Redis; freeze makes the connections open so far
// swallow everything without closing, as a partitioned network does.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen []chan struct{}
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		stop := make(chan struct{})
		p.mu.Lock()
		p.frozen = append(p.frozen, stop)
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go pipe(in, out, stop)
		go pipe(out, in, stop)
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.frozen {
		close(c)
	}
	p.frozen = nil
}

// pipe copies until stop closes, then reads and drops everything.
func pipe(dst io.Writer, src io.Reader, stop <-chan struct{}) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-stop:
			continue
		default:
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}
