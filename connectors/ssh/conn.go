package ssh

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

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
	chain    []io.Closer           // jump hosts and helpers, closed after client
	dead     <-chan ssh.NewChannel // closed when client's connection ends
	tcp      *net.TCPConn          // client's socket, when it is one (not through a jump host)
	stop     chan struct{}
	sftp     *sftp.Client
	fwdAgent bool
	// orphans are temporary files a lost connection kept us from removing.
	orphans []string
	// pending are stops of commands a dead connection kept us from
	// stopping: run on the next connection, or at Close.
	pending []pendingStop
	closing bool           // Close runs the kept stops itself
	stops   sync.WaitGroup // stops still under way (see stopRemote)
	// From a connection's second session on, the next session channel is
	// opened while the current one is used (spare), so a command costs one
	// round trip (exec, then its output) instead of two (open, then exec).
	// A one-command run never holds an idle channel.
	spare       *ssh.Session
	spareClient *ssh.Client
	sparing     bool
	sessions    int
	// The pipelined shell (pipeline.go) and its state. pipeOff stops
	// pipelining on this Conn (a server limiting sessions, a shell that
	// keeps failing).
	shell         *shell
	shellStarting *ssh.Session
	shellOpened   chan struct{} // while the shell starts; closed when it is up or failed
	shellFailures int
	pipeAsks      int
	pipeOff       bool
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
	c.closing = false
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
		client, dead, err := c.dial(ctx, s, "", true, 0, &chain)
		if err == nil {
			c.client, c.chain = client, chain
			c.dead, c.stop = dead, make(chan struct{})
			c.fwdAgent = false
			if len(c.pending) > 0 && !c.closing {
				go c.runPending(client)
			}
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

func (c *Conn) teardownLocked() {
	if c.spare != nil {
		c.spare.Close()
		c.spare, c.spareClient = nil, nil
	}
	c.sessions = 0
	c.closeShellLocked()
	c.pipeAsks = 0
	if c.sftp != nil {
		// Not waited for (it waits for the server to end the session):
		// closing the connection below ends it anyway.
		go c.sftp.Close()
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
	c.finishPending()
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
