package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/connector"
)

// DialContext opens a stream to addr as the host sees it, over the
// connection: network "tcp" (direct-tcpip) or "unix" (a socket path,
// OpenSSH's direct-streamlocal). The dockerssh connector reaches the remote
// Docker socket this way.
func (c *Conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, err := c.clientFor(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := client.DialContext(ctx, network, addr)
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "dial %s %s over ssh: %w", network, addr, err)
	}
	return conn, nil
}

// dial connects to s. target is true for the host itself (whose password
// applies); jumpOverride replaces s's ProxyJump for hops of a chain. The
// channel is closed when the connection ends.
func (c *Conn) dial(ctx context.Context, s *Settings, jumpOverride string, target bool, depth int, chain *[]io.Closer) (*ssh.Client, <-chan ssh.NewChannel, error) {
	if depth > 8 {
		return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "ProxyJump chain deeper than 8 hops (a loop in the ssh config?)")
	}
	timeout := c.connectTimeout(s)
	jump := s.ProxyJump
	if !target || jumpOverride != "" {
		if jumpOverride != "" {
			jump = jumpOverride
		}
	}
	if jumpOverride == "none" {
		jump = ""
	}
	label := s.Alias
	if !target {
		label = "jump host " + s.Alias
	}
	var nc net.Conn
	var err error
	switch {
	case jump != "":
		hops := strings.Split(jump, ",")
		l, err := parseHop(strings.TrimSpace(hops[len(hops)-1]))
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%w", err)
		}
		hs, err := resolve(ctx, l, s.ConfigFile, nil)
		if errors.Is(err, errNoSSHClient) {
			err = nil
		}
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "jump host %s: %w", l.host, err)
		}
		override := "none"
		if len(hops) > 1 {
			override = strings.Join(hops[:len(hops)-1], ",")
		} else if hs.ProxyJump != "" {
			override = hs.ProxyJump
		}
		hop, _, err := c.dial(ctx, hs, override, false, depth+1, chain)
		if err != nil {
			return nil, nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		nc, err = hop.DialContext(dctx, "tcp", s.dialAddr())
		cancel()
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: dialing %s through %s: %w", label, s.dialAddr(), hs.Alias, err)
		}
	case s.ProxyCommand != "":
		nc, err = proxyCommand(s, &logWriter{log: c.host.Logger(), host: c.name()})
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: ProxyCommand: %w", label, err)
		}
	default:
		dialer := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		nc, err = dialer.DialContext(ctx, "tcp", s.dialAddr())
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, err)
		}
	}
	d := c.data()
	ac := &authConfig{settings: s, key: d.String(KeyKey), keyPassword: d.String(KeyKeyPassword),
		allowAgent: d.Bool(KeyAllowAgent), lookForKeys: d.Bool(KeyLookForKeys)}
	if target {
		ac.password = d.String(KeyPassword)
	}
	plan, err := ac.plan()
	if err != nil {
		nc.Close()
		return nil, nil, connector.Errorf(c.name(), connector.ErrAuth, "%s: %w", label, err)
	}
	defer plan.close()
	hk := newHostKeys(s, d.String(KeyKnownHostsFile), c.strict(s), func(msg string) {
		c.host.Logger().Warn(msg, "host", c.name())
	})
	cfg := &ssh.ClientConfig{
		User:              s.User,
		Auth:              plan.methods,
		HostKeyCallback:   hk.Callback,
		HostKeyAlgorithms: hk.Algorithms(),
		Timeout:           timeout,
	}
	cfg.Ciphers = preferredCiphers
	if len(s.Ciphers) > 0 {
		cfg.Ciphers = s.Ciphers
	}
	// The handshake shares the connect timeout; a timer works on every
	// kind of net.Conn (channels through jump hosts have no deadlines).
	timer := time.AfterFunc(timeout, func() { nc.Close() })
	stopCtx := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, s.dialAddr(), cfg)
	timedOut := !timer.Stop()
	stopCtx()
	if err != nil {
		nc.Close()
		var hkErr *HostKeyError
		switch {
		case errors.As(hk.lastErr, &hkErr) || errors.As(err, &hkErr):
			if hkErr == nil {
				errors.As(hk.lastErr, &hkErr)
			}
			return nil, nil, connector.Errorf(c.name(), connector.ErrHostKey, "%s: %w", label, hkErr)
		case hk.lastErr != nil:
			return nil, nil, connector.Errorf(c.name(), connector.ErrHostKey, "%s: %w", label, hk.lastErr)
		case strings.Contains(err.Error(), "unable to authenticate"):
			msg := fmt.Sprintf("%s: user %s was refused; tried %s", label, s.User, strings.Join(plan.tried, ", "))
			if len(plan.notes) > 0 {
				msg += "; " + strings.Join(plan.notes, "; ")
			}
			return nil, nil, connector.Errorf(c.name(), connector.ErrAuth, "%s", msg)
		case timedOut:
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: no SSH handshake within %s (ConnectTimeout)", label, timeout)
		case ctx.Err() != nil:
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, ctx.Err())
		}
		return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, err)
	}
	if target {
		c.tcp, _ = nc.(*net.TCPConn) // c.mu is held (connectLocked)
	}
	client := ssh.NewClient(sc, chans, reqs)
	*chain = append(*chain, client)
	k := &keeper{client: client, interval: s.ServerAliveInterval, countMax: s.ServerAliveCountMax}
	if k.interval <= 0 {
		// goinfra's own default, not OpenSSH's (none): only a peer whose
		// TCP stack is silent too counts as dead, so that a server too busy
		// to answer (a thousand logins on two CPUs) keeps its connection.
		k.interval, k.countMax, k.lenient = defaultServerAliveInterval, defaultServerAliveCountMax, true
		k.tcp, _ = nc.(*net.TCPConn) // nil through a jump host or ProxyCommand
	}
	// x/crypto closes the channels HandleChannelOpen returns when the
	// connection ends: that is the signal, without a goroutine of our own
	// waiting for it (one stack per connected host). No server opens this
	// type; one that did would only make its connection look dead.
	k.dead = client.HandleChannelOpen(deadSignal)
	k.start()
	return client, k.dead, nil
}

// deadSignal is the channel type whose handler tells a connection's end.
const deadSignal = "goinfra-connection-end@goinfra.dev"

// keeper sends keepalive@openssh.com requests, as ServerAliveInterval
// does, and closes a connection that stops answering, so that a dead peer
// is noticed and idle connections are not dropped by middleboxes. Idle
// connections are most of a large run's memory, so it takes a goroutine
// only while a request is out (a timer between them), not one per
// connection.
type keeper struct {
	client   *ssh.Client
	interval time.Duration
	countMax int
	// lenient (the default settings): a miss is a tick at which the
	// peer's TCP stack acknowledged nothing for an interval (tcp, Linux),
	// or else an unanswered request with lenientFactor times as many
	// allowed.
	lenient bool
	tcp     *net.TCPConn
	missed  int        // only tick touches it, and ticks never overlap
	reply   chan error // the request out, if any: one at a time
	probing atomic.Bool
	dead    <-chan ssh.NewChannel
}

// lenientFactor multiplies the unanswered requests allowed by default
// where the kernel cannot tell whether the peer's TCP stack answers.
const lenientFactor = 3

// start begins the keepalives; they end when dead is closed (the
// connection's end).
func (k *keeper) start() {
	if k.countMax <= 0 {
		k.countMax = 3
	}
	time.AfterFunc(k.interval, k.tick)
}

// tick sends a request unless one is still out, and schedules the next
// tick one interval after this one started (at once after a request that
// went unanswered that long), as a ticker would.
func (k *keeper) tick() {
	select {
	case <-k.dead:
		return
	default:
	}
	if k.lenient && k.tcp != nil && k.tcpTick() {
		time.AfterFunc(k.interval, k.tick)
		return
	}
	start := time.Now()
	if k.reply == nil {
		reply := make(chan error, 1)
		k.reply = reply
		go func() {
			_, _, err := k.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
	}
	wait := time.NewTimer(k.interval)
	defer wait.Stop()
	select {
	case err := <-k.reply:
		k.reply = nil
		if err != nil {
			k.client.Close()
			return
		}
		k.missed = 0
	case <-wait.C:
		limit := k.countMax
		if k.lenient {
			limit *= lenientFactor
		}
		k.missed++
		if k.missed >= limit {
			k.client.Close()
			return
		}
	case <-k.dead:
		return
	}
	time.AfterFunc(max(0, time.Until(start.Add(k.interval))), k.tick)
}

// tcpTick is a tick of the default keepalives where the kernel tells
// whether the peer's TCP stack acknowledges (false where it cannot): what
// went out since the last tick either was acknowledged or not, and a
// request without reply goes out for the next one to tell. No reply is
// awaited, so a busy server holds no goroutine of ours per connection.
func (k *keeper) tcpTick() bool {
	silent, known := tcpPeerSilent(k.tcp, k.interval)
	if !known {
		return false
	}
	if !silent {
		k.missed = 0
	} else if k.missed++; k.missed >= k.countMax {
		k.client.Close()
		return true
	}
	// The write blocks only when the socket's buffer is full (a dead
	// network under an upload): one at a time, and never in the tick.
	if k.probing.CompareAndSwap(false, true) {
		go func() {
			_, _, _ = k.client.SendRequest("keepalive@openssh.com", false, nil)
			k.probing.Store(false)
		}()
	}
	return true
}

// proxyCommand runs ProxyCommand (tokens expanded) and talks SSH over its
// standard input and output.
func proxyCommand(s *Settings, stderr io.Writer) (net.Conn, error) {
	line := expandTokens(s.ProxyCommand, s)
	cmd := exec.Command("/bin/sh", "-c", "exec "+line)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &pipeConn{r: stdout, w: stdin, cmd: cmd, addr: fakeAddr(s.dialAddr())}, nil
}

// logWriter passes a helper's stderr to the host's log (debug level).
type logWriter struct {
	log  *slog.Logger
	host string
}

func (l *logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			l.log.Debug("ProxyCommand: "+line, "host", l.host)
		}
	}
	return len(p), nil
}

type pipeConn struct {
	r    io.ReadCloser
	w    io.WriteCloser
	cmd  *exec.Cmd
	addr net.Addr
	once sync.Once
}

func (p *pipeConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pipeConn) Close() error {
	p.once.Do(func() {
		p.w.Close()
		p.r.Close()
		if p.cmd.Process != nil {
			p.cmd.Process.Kill()
		}
		p.cmd.Wait()
	})
	return nil
}

func (p *pipeConn) LocalAddr() net.Addr { return fakeAddr("proxycommand") }

func (p *pipeConn) RemoteAddr() net.Addr { return p.addr }

func (p *pipeConn) SetDeadline(time.Time) error { return nil }

func (p *pipeConn) SetReadDeadline(time.Time) error { return nil }

func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }
