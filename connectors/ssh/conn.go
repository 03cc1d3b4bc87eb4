package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// Ciphers in the order goinfra offers them: AES-GCM first (fast with
// AES-NI), then ChaCha20-Poly1305 and CTR modes.
var preferredCiphers = []string{
	"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr",
}

// Conn is a connection to one host. Run, Put and Get may be called from
// several goroutines at once: each uses its own session channel.
type Conn struct {
	host *connector.Host

	mu       sync.Mutex
	settings *Settings
	client   *ssh.Client
	chain    []io.Closer // jump hosts and helpers, closed after client
	dead     chan struct{}
	stop     chan struct{}
	sftp     *sftp.Client
	fwdAgent bool
	// orphans are temporary files a lost connection kept us from removing.
	orphans []string
	// From a connection's second session on, the next session channel is
	// opened while the current one is used (spare), so a command costs one
	// round trip (exec, then its output) instead of two (open, then exec).
	// A one-command run never holds an idle channel.
	spare       *ssh.Session
	spareClient *ssh.Client
	sparing     bool
	sessions    int
}

var (
	_ connector.Conn      = (*Conn)(nil)
	_ connector.Forwarder = (*Conn)(nil)
	_ connector.Terminal  = (*Conn)(nil)
)

func (c *Conn) name() string { return c.host.Name }

func (c *Conn) data() connector.Data { return c.host.Data }

// Settings returns the resolved OpenSSH settings (after Connect).
func (c *Conn) Settings() *Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

func (c *Conn) resolveTarget(ctx context.Context) (*Settings, error) {
	if c.settings != nil {
		return c.settings, nil
	}
	d := c.data()
	target := d.String(KeyHostname)
	if target == "" {
		target = c.name()
	}
	opts, err := optionArgs(d.Map(KeyOptions))
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "data key %s: %w", KeyOptions, err)
	}
	s, err := resolve(ctx, lookup{host: target, user: d.String(KeyUser), port: d.Int(KeyPort)}, d.String(KeyConfigFile), opts)
	if errors.Is(err, errNoSSHClient) {
		c.host.Logger().Warn(err.Error(), "host", c.name())
		err = nil
	}
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "%w", err)
	}
	for _, o := range opts {
		if k, v, _ := strings.Cut(o, "="); strings.EqualFold(k, "Ciphers") {
			s.Ciphers = strings.Split(strings.ReplaceAll(v, " ", ","), ",")
		}
	}
	c.settings = s
	return s, nil
}

func (c *Conn) connectTimeout(s *Settings) time.Duration {
	if t := c.data().Duration(KeyConnectTimeout); t > 0 {
		return t
	}
	if s.ConnectTimeout > 0 {
		return s.ConnectTimeout
	}
	return defaultConnectTimeout
}

func (c *Conn) strict(s *Settings) strictMode {
	m := c.data().String(KeyStrictHostKeyChecking)
	if m == "" {
		m = s.StrictHostKeyCheck
	}
	mode, _ := parseStrict(m)
	return mode
}

func (c *Conn) alive() bool {
	if c.client == nil {
		return false
	}
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// Connect implements connector.Conn: it resolves the host's settings,
// dials (through ProxyJump hops or ProxyCommand), checks the host key and
// authenticates, retrying network failures ssh_connect_retries times.
func (c *Conn) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connectLocked(ctx)
}

func (c *Conn) connectLocked(ctx context.Context) error {
	if c.alive() {
		return nil
	}
	c.teardownLocked()
	s, err := c.resolveTarget(ctx)
	if err != nil {
		return err
	}
	d := c.data()
	retries := d.Int(KeyConnectRetries)
	minDelay, maxDelay := d.Duration(KeyConnectRetryMinDelay), d.Duration(KeyConnectRetryMaxDelay)
	if maxDelay < minDelay {
		maxDelay = minDelay
	}
	for attempt := 0; ; attempt++ {
		var chain []io.Closer
		client, err := c.dial(ctx, s, "", true, 0, &chain)
		if err == nil {
			c.client, c.chain = client, chain
			c.dead, c.stop = make(chan struct{}), make(chan struct{})
			go func(cl *ssh.Client, dead chan struct{}) { cl.Wait(); close(dead) }(client, c.dead)
			c.fwdAgent = false
			return nil
		}
		for i := len(chain) - 1; i >= 0; i-- {
			chain[i].Close()
		}
		if attempt >= retries || errors.Is(err, connector.ErrAuth) || errors.Is(err, connector.ErrHostKey) || ctx.Err() != nil {
			return err
		}
		delay := minDelay
		if maxDelay > minDelay {
			delay += rand.N(maxDelay - minDelay)
		}
		c.host.Logger().Debug("ssh connect failed, retrying", "host", c.name(), "attempt", attempt+1, "delay", delay, "error", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return connector.Errorf(c.name(), connector.ErrConnect, "%w", ctx.Err())
		}
	}
}

// dial connects to s. target is true for the host itself (whose password
// applies); jumpOverride replaces s's ProxyJump for hops of a chain.
func (c *Conn) dial(ctx context.Context, s *Settings, jumpOverride string, target bool, depth int, chain *[]io.Closer) (*ssh.Client, error) {
	if depth > 8 {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "ProxyJump chain deeper than 8 hops (a loop in the ssh config?)")
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
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%w", err)
		}
		hs, err := resolve(ctx, l, s.ConfigFile, nil)
		if errors.Is(err, errNoSSHClient) {
			err = nil
		}
		if err != nil {
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "jump host %s: %w", l.host, err)
		}
		override := "none"
		if len(hops) > 1 {
			override = strings.Join(hops[:len(hops)-1], ",")
		} else if hs.ProxyJump != "" {
			override = hs.ProxyJump
		}
		hop, err := c.dial(ctx, hs, override, false, depth+1, chain)
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		nc, err = hop.DialContext(dctx, "tcp", s.dialAddr())
		cancel()
		if err != nil {
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: dialing %s through %s: %w", label, s.dialAddr(), hs.Alias, err)
		}
	case s.ProxyCommand != "":
		nc, err = proxyCommand(s, &logWriter{log: c.host.Logger(), host: c.name()})
		if err != nil {
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: ProxyCommand: %w", label, err)
		}
	default:
		dialer := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		nc, err = dialer.DialContext(ctx, "tcp", s.dialAddr())
		if err != nil {
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, err)
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
		return nil, connector.Errorf(c.name(), connector.ErrAuth, "%s: %w", label, err)
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
			return nil, connector.Errorf(c.name(), connector.ErrHostKey, "%s: %w", label, hkErr)
		case hk.lastErr != nil:
			return nil, connector.Errorf(c.name(), connector.ErrHostKey, "%s: %w", label, hk.lastErr)
		case strings.Contains(err.Error(), "unable to authenticate"):
			msg := fmt.Sprintf("%s: user %s was refused; tried %s", label, s.User, strings.Join(plan.tried, ", "))
			if len(plan.notes) > 0 {
				msg += "; " + strings.Join(plan.notes, "; ")
			}
			return nil, connector.Errorf(c.name(), connector.ErrAuth, "%s", msg)
		case timedOut:
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: no SSH handshake within %s (ConnectTimeout)", label, timeout)
		case ctx.Err() != nil:
			return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, ctx.Err())
		}
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "%s: %w", label, err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	*chain = append(*chain, client)
	interval := s.ServerAliveInterval
	if interval <= 0 {
		interval = defaultServerAliveInterval
	}
	go keepalive(client, interval, s.ServerAliveCountMax)
	return client, nil
}

// keepalive sends keepalive@openssh.com requests, as ServerAliveInterval
// does, and closes a connection that stops answering, so that a dead peer
// is noticed and idle connections are not dropped by middleboxes.
func keepalive(client *ssh.Client, interval time.Duration, countMax int) {
	if countMax <= 0 {
		countMax = 3
	}
	done := make(chan struct{})
	go func() { client.Wait(); close(done) }()
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				client.Close()
				return
			}
			missed = 0
		case <-time.After(interval):
			missed++
			if missed >= countMax {
				client.Close()
				return
			}
		case <-done:
			return
		}
	}
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

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
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
func (p *pipeConn) LocalAddr() net.Addr              { return fakeAddr("proxycommand") }
func (p *pipeConn) RemoteAddr() net.Addr             { return p.addr }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

func (c *Conn) teardownLocked() {
	if c.spare != nil {
		c.spare.Close()
		c.spare, c.spareClient = nil, nil
	}
	c.sessions = 0
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	if c.client != nil {
		c.client.Close()
		c.client = nil
	}
	for i := len(c.chain) - 1; i >= 0; i-- {
		c.chain[i].Close()
	}
	c.chain = nil
}

// Close implements connector.Conn.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.teardownLocked()
	return nil
}

// clientFor returns a live client, reconnecting after a dropped connection.
func (c *Conn) clientFor(ctx context.Context) (*ssh.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil && c.settings == nil {
		return nil, connector.Errorf(c.name(), connector.ErrNotConnected, "Connect was not called")
	}
	if err := c.connectLocked(ctx); err != nil {
		return nil, err
	}
	return c.client, nil
}

func (c *Conn) lost(client *ssh.Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != client {
		return true
	}
	return !c.alive()
}

// newSession opens a session channel, forwarding the agent when asked.
func (c *Conn) newSession(ctx context.Context) (*ssh.Session, *ssh.Client, error) {
	client, err := c.clientFor(ctx)
	if err != nil {
		return nil, nil, err
	}
	var sess *ssh.Session
	c.mu.Lock()
	if c.spare != nil && c.spareClient == client {
		sess, c.spare, c.spareClient = c.spare, nil, nil
	}
	c.sessions++
	prefetch := c.sessions >= 2 && c.spare == nil && !c.sparing && c.client == client
	if prefetch {
		c.sparing = true
	}
	c.mu.Unlock()
	if prefetch {
		go c.openSpare(client)
	}
	if sess == nil {
		sess, err = client.NewSession()
		if err != nil && c.freeSessions(client, err) {
			sess, err = retryOpen(client.NewSession)
		}
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "opening a session: %w (the connection was lost; the next command reconnects)", err)
		}
	}
	if c.forwardAgent() {
		c.mu.Lock()
		if !c.fwdAgent && c.client == client {
			if sock := c.forwardSocket(); sock != "" {
				if err := agent.ForwardToRemote(client, sock); err == nil {
					c.fwdAgent = true
				}
			}
		}
		ok := c.fwdAgent
		c.mu.Unlock()
		if ok {
			if err := agent.RequestAgentForwarding(sess); err != nil {
				c.host.Logger().Warn("agent forwarding refused by the server", "host", c.name(), "error", err)
			}
		}
	}
	return sess, client, nil
}

// freeSessions closes the sessions a connection keeps open between uses
// (the spare, the SFTP client) after the server refused a new one: a server
// with a small MaxSessions (1 on some hardened hosts) then still serves
// command after transfer after command. It reports whether it closed any.
func (c *Conn) freeSessions(client *ssh.Client, err error) bool {
	var refused *ssh.OpenChannelError
	if !errors.As(err, &refused) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != client {
		return false
	}
	freed := false
	if c.spare != nil {
		c.spare.Close()
		c.spare, c.spareClient, freed = nil, nil, true
	}
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp, freed = nil, true
	}
	return freed
}

// retryOpen asks for a session again after freeSessions: the server counts
// a closed session out only when its side of the close is done, so the
// first tries may still be refused.
func retryOpen[T any](open func() (T, error)) (T, error) {
	v, err := open()
	for wait := 5 * time.Millisecond; err != nil && wait <= 640*time.Millisecond; wait *= 2 {
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) {
			break
		}
		time.Sleep(wait)
		v, err = open()
	}
	return v, err
}

// openSpare opens the session channel the next command will use.
func (c *Conn) openSpare(client *ssh.Client) {
	sess, err := client.NewSession()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sparing = false
	if err != nil {
		return
	}
	if c.client != client || c.spare != nil {
		sess.Close()
		return
	}
	c.spare, c.spareClient = sess, client
}

func (c *Conn) forwardAgent() bool {
	if v, ok := c.data()[KeyForwardAgent].(bool); ok {
		return v
	}
	s := c.Settings()
	return s != nil && s.ForwardAgent
}

// forwardSocket is the agent forwarded to the host: ForwardAgent's socket
// when it names one, else the agent used to log in (IdentityAgent, else
// SSH_AUTH_SOCK), as OpenSSH does, which points SSH_AUTH_SOCK at
// IdentityAgent before it forwards.
func (c *Conn) forwardSocket() string {
	s := c.settings
	if s == nil {
		return os.Getenv("SSH_AUTH_SOCK")
	}
	if s.ForwardAgentSocket != "" {
		if strings.HasPrefix(s.ForwardAgentSocket, "$") {
			return os.Getenv(strings.TrimPrefix(s.ForwardAgentSocket, "$"))
		}
		return expandTokens(s.ForwardAgentSocket, s)
	}
	return agentSocket(s)
}

// pidLine takes the first line of stdout (the remote shell's PID, which is
// also its process group: sshd starts every session command with setsid)
// and passes everything after it on.
type pidLine struct {
	next io.Writer
	buf  []byte
	done bool
	pid  chan int
}

func (p *pidLine) Write(b []byte) (int, error) {
	if p.done {
		return p.next.Write(b)
	}
	p.buf = append(p.buf, b...)
	i := bytes.IndexByte(p.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	p.done = true
	n, _ := strconv.Atoi(strings.TrimSpace(string(p.buf[:i])))
	p.pid <- n
	if rest := p.buf[i+1:]; len(rest) > 0 {
		if _, err := p.next.Write(rest); err != nil {
			return 0, err
		}
	}
	p.buf = nil
	return len(b), nil
}

// Terminal implements connector.Terminal: with Options.PTY a command gets
// a pseudo-terminal, its input streamed from Options.Stdin and its output
// byte for byte to Options.Stdout.
func (c *Conn) Terminal() {}

// Run implements connector.Conn. Commands may run concurrently.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	unix := opts.Unix
	stdin := opts.Stdin
	wrapped := unix.Wrap(cmd)
	c.host.Logger().Debug("ssh run", "host", c.name(), "command", wrapped.String())
	if opts.OnCommand != nil {
		opts.OnCommand(wrapped.String())
	}
	sess, client, err := c.newSession(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	if opts.PTY {
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("xterm", 24, 200, modes); err != nil {
			return res, connector.Errorf(c.name(), connector.ErrConnect, "requesting a pty: %w", err)
		}
	}
	rec := connector.NewRecorder(opts.OnLine)
	out := rec.Stdout()
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	pid := &pidLine{next: out, pid: make(chan int, 1)}
	sess.Stdout, sess.Stderr = pid, rec.Stderr()
	if stdin != nil {
		sess.Stdin = stdin
	}
	// The login shell prints its PID (= process group) first, then execs
	// the command, so a timeout can stop the whole group from a second
	// session even where sshd ignores "signal" requests.
	line := "echo $$; exec " + wrapped.Raw()
	if unix.ShellExecutable == command.NoShell && !unix.Escalates() {
		line = "echo $$; " + wrapped.Raw()
	}
	if err := sess.Start(line); err != nil {
		return res, connector.Errorf(c.name(), connector.ErrConnect, "starting the command: %w", err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- sess.Wait() }()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var werr error
	select {
	case werr = <-waitErr:
	case <-timeout:
		c.stopRemote(client, sess, pid, opts)
		res.Output = rec.Output()
		return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
	case <-ctx.Done():
		c.stopRemote(client, sess, pid, opts)
		res.Output = rec.Output()
		return res, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
	}
	res.Output = rec.Output()
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case werr == nil:
		res.ExitCode = 0
	case errors.As(werr, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		if exitErr.Signal() != "" && exitErr.ExitStatus() == 0 {
			res.ExitCode = -1
		}
	case errors.As(werr, &missing) || c.lost(client):
		return res, connector.Errorf(c.name(), connector.ErrConnect, "connection lost while the command ran (the next command reconnects)")
	default:
		return res, connector.Errorf(c.name(), connector.ErrConnect, "%w", werr)
	}
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.name(), ExitCode: res.ExitCode, Command: wrapped.String()}
	}
	return res, nil
}

// stopRemote stops a command that ran past its time: a TERM then KILL to
// its process group from a second session, plus a "signal" request for
// sshds that honour it. What runs as another user is signalled through the
// command's own escalation too (opts.Kill, from the escalation layer).
func (c *Conn) stopRemote(client *ssh.Client, sess *ssh.Session, pid *pidLine, opts connector.Options) {
	_ = sess.Signal(ssh.SIGTERM)
	var pgid int
	select {
	case pgid = <-pid.pid:
	case <-time.After(2 * time.Second):
	}
	if pgid > 1 {
		g := strconv.Itoa(pgid)
		kill := command.Shell("kill -TERM -" + g + " 2>/dev/null; sleep 0.3; kill -KILL -" + g + " 2>/dev/null; true")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if opts.Kill != nil {
			_ = opts.Kill(ctx, kill)
		}
		if ks, err := client.NewSession(); err == nil {
			done := make(chan struct{})
			go func() { _ = ks.Run(kill.Raw()); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
			}
			ks.Close()
		}
		cancel()
	}
	sess.Close()
}

// Forward implements connector.Forwarder: it listens on localAddr and
// forwards each connection to remoteAddr as the host sees it.
func (c *Conn) Forward(ctx context.Context, localAddr, remoteAddr string) (io.Closer, error) {
	if _, err := c.clientFor(ctx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", localAddr)
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "forward %s: %w", localAddr, err)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	go func() {
		defer stop()
		for {
			lc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer lc.Close()
				client, err := c.clientFor(ctx)
				if err != nil {
					return
				}
				rc, err := client.DialContext(ctx, "tcp", remoteAddr)
				if err != nil {
					c.host.Logger().Warn("port forward failed", "host", c.name(), "remote", remoteAddr, "error", err)
					return
				}
				defer rc.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(rc, lc); done <- struct{}{} }()
				go func() { io.Copy(lc, rc); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return listenerCloser{ln}, nil
}

type listenerCloser struct{ net.Listener }

// Addr is where the forward listens (useful with port 0).
func (l listenerCloser) Close() error { return l.Listener.Close() }
