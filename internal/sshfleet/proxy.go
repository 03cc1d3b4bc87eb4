package sshfleet

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP forwarder on 127.0.0.1 in front of one server. It is the
// fleet's fault switch: it can drop every connection, delay traffic and
// refuse new connections, which `tc netem` would do on kernels that have it.
type Proxy struct {
	target string
	addr   string // fixed after the first listen, so Stop/Start keep the port

	latency atomic.Int64 // nanoseconds, one direction
	// toServer, toClient and accepted count what went through, for
	// Traffic.
	toServer, toClient, accepted atomic.Int64
	idle                         atomic.Int64 // nanoseconds without traffic before a cut; 0: never
	silent                       atomic.Bool  // discard all traffic after the TCP stack
	dropped                      atomic.Bool  // the kernel drops the port's packets (SetDropped)

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*proxyConn]struct{}
	closed  bool
	serving sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	last           atomic.Int64 // unix nanoseconds of the last traffic
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// NewProxy listens on a free port of 127.0.0.1 and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	p := &Proxy{target: target, conns: map[*proxyConn]struct{}{}}
	if err := p.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return p, nil
}

// Addr returns the listening address (host:port).
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.addr = ln.Addr().String()
	p.mu.Unlock()
	p.serving.Add(1)
	go p.serve(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	defer p.serving.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p.accepted.Add(1)
		go p.handle(c)
	}
}

func (p *Proxy) handle(client net.Conn) {
	// As long as a client would wait: sshd's listen backlog (128) fills
	// when a thousand connections come at once on a slow machine, and
	// the SYNs retried for more than 10 s then would be cut here, not
	// by the client's own ConnectTimeout.
	server, err := net.DialTimeout("tcp", p.target, 2*time.Minute)
	if err != nil {
		// Looks like a refused connection from the client's side: closed
		// before any byte.
		if tc, ok := client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		client.Close()
		return
	}
	pc := &proxyConn{client: client, server: server}
	pc.last.Store(time.Now().UnixNano())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client, &pc.last, &p.toServer) }()
	go func() { defer wg.Done(); p.pipe(client, server, &pc.last, &p.toClient) }()
	stopIdle := make(chan struct{})
	go p.watchIdle(pc, stopIdle)
	wg.Wait()
	close(stopIdle)
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

type chunk struct {
	buf *[]byte
	n   int
	due time.Time
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// pipe copies src to dst. Each chunk read is stamped with the latency in
// force when it arrived and written no earlier than that, in order, so a
// delay adds to the round trip without limiting throughput.
func (p *Proxy) pipe(dst, src net.Conn, last, count *atomic.Int64) {
	// 512 chunks of 32 KiB in flight per direction: enough for well over
	// 500 MiB/s at 25 ms one-way delay, so the proxy is never the window.
	q := make(chan chunk, 512)
	done := make(chan struct{})
	go func() {
		defer close(done)
		failed := false
		for c := range q {
			if !failed {
				if d := time.Until(c.due); d > 0 {
					time.Sleep(d)
				}
				n, err := dst.Write((*c.buf)[:c.n])
				count.Add(int64(n))
				if err != nil {
					failed = true
					// Unblock the reader: the other side is gone.
					src.Close()
				}
			}
			chunkPool.Put(c.buf)
		}
		if !failed {
			// Pass the half-close on, as a direct connection would.
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			} else {
				dst.Close()
			}
		}
	}()
	for {
		buf := chunkPool.Get().(*[]byte)
		n, err := src.Read(*buf)
		if n > 0 && p.silent.Load() {
			// A dead network: the bytes never arrive, nothing is closed.
			chunkPool.Put(buf)
			buf, n = nil, 0
		}
		if n > 0 {
			last.Store(time.Now().UnixNano())
			q <- chunk{buf: buf, n: n, due: time.Now().Add(time.Duration(p.latency.Load()))}
		} else if buf != nil {
			chunkPool.Put(buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A reset or a cut: drop the other side too.
				dst.Close()
			}
			break
		}
	}
	close(q)
	<-done
}

// watchIdle cuts pc, as a NAT or firewall forgets an idle flow, once it
// carried no traffic for the idle timeout.
func (p *Proxy) watchIdle(pc *proxyConn, stop <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		idle := time.Duration(p.idle.Load())
		if idle > 0 && time.Since(time.Unix(0, pc.last.Load())) > idle {
			pc.reset()
			return
		}
	}
}

// SetIdleTimeout makes the proxy cut (with a reset) every connection,
// open or new, that carries no traffic in either direction for d, as a
// NAT or stateful firewall drops idle flows; 0 turns it off.
func (p *Proxy) SetIdleTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	p.idle.Store(int64(d))
}

// SetSilent makes the proxy discard every byte in both directions without
// closing anything: a peer that hears nothing and says nothing, while its
// TCP stack (the proxy's) still acknowledges, as a host whose sshd hangs
// or a dead link behind a middlebox that ends TCP; new connections are
// accepted and hear nothing. false restores it (a connection that lost
// bytes meanwhile stays broken). SetDropped is a dead link itself.
func (p *Proxy) SetSilent(on bool) { p.silent.Store(on) }

// SetLatency sets the one-way delay added to every chunk from now on.
func (p *Proxy) SetLatency(d time.Duration) {
	if d < 0 {
		d = 0
	}
	p.latency.Store(int64(d))
}

// CutConnections closes every open connection through the proxy, both sides,
// with a reset.
func (p *Proxy) CutConnections() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
}

// reset closes both sides with a reset.
func (c *proxyConn) reset() {
	for _, nc := range []net.Conn{c.client, c.server} {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	c.close()
}

// Traffic is what went through a proxy since it was made.
type Traffic struct {
	// ToServer and ToClient are bytes delivered in each direction.
	ToServer, ToClient int64
	// Conns is the number of connections accepted.
	Conns int64
}

// Traffic returns the proxy's counts so far.
func (p *Proxy) Traffic() Traffic {
	return Traffic{ToServer: p.toServer.Load(), ToClient: p.toClient.Load(), Conns: p.accepted.Load()}
}

// Traffic sums the counts of the servers' proxies.
func (f *Fleet) Traffic() Traffic {
	var t Traffic
	for _, s := range f.Servers {
		if s.proxy != nil {
			pt := s.proxy.Traffic()
			t.ToServer += pt.ToServer
			t.ToClient += pt.ToClient
			t.Conns += pt.Conns
		}
	}
	return t
}

// Conns returns the number of open connections through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Stop closes the listener (new connections are refused) and cuts every open
// connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.CutConnections()
}

// Start listens again on the same address after Stop.
func (p *Proxy) Start() error {
	p.mu.Lock()
	running := p.ln != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	return p.listen(p.addr)
}

// Close stops the proxy for good.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Stop()
	p.serving.Wait()
	if p.dropped.Load() {
		_ = p.SetDropped(false)
	}
}
