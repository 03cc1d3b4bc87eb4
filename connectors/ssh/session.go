package ssh

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/goinfra-dev/goinfra/connector"
)

// newSession opens a session channel, forwarding the agent when asked.
// noSpare skips opening the next session ahead (the next command of its
// kind runs in the pipelined shell).
func (c *Conn) newSession(ctx context.Context, noSpare bool) (*ssh.Session, *ssh.Client, error) {
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
	prefetch := c.sessions >= 2 && c.spare == nil && !c.sparing && c.client == client && !noSpare
	if prefetch {
		c.sparing = true
	}
	c.mu.Unlock()
	if prefetch {
		go c.openSpare(client)
	}
	if sess == nil {
		sess, err = openSession(ctx, client)
		if err != nil && c.freeSessions(client, err) {
			sess, err = retryOpen(func() (*ssh.Session, error) { return openSession(ctx, client) })
		}
		if err != nil && ctx.Err() == nil && c.closedUnder(client, err) {
			// The connection was found dead (keepalive) just before: no
			// command started, so connect again once and open there.
			if again, cerr := c.clientFor(ctx); cerr == nil && again != client {
				client = again
				sess, err = openSession(ctx, client)
			}
		}
		if err != nil && ctx.Err() != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrTimeout, "opening a session: %w", ctx.Err())
		}
		if err != nil {
			return nil, nil, connector.Errorf(c.name(), connector.ErrConnect, "opening a session: %w (the connection was lost; the next command reconnects)", err)
		}
	}
	c.requestAgent(client, sess)
	return sess, client, nil
}

// requestAgent forwards the agent to sess when the host data or config asks.
func (c *Conn) requestAgent(client *ssh.Client, sess *ssh.Session) {
	if !c.forwardAgent() {
		return
	}
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

// openSession opens a session channel, giving up when ctx ends: over a
// dead network the server's answer never comes (the keepalive closes the
// connection later), and a command's deadline must hold meanwhile.
func openSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	type opened struct {
		sess *ssh.Session
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := client.NewSession()
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		return o.sess, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.sess != nil {
				o.sess.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// closedUnder reports whether err is client's own end (it was closed, by
// the keepalive that found the peer dead or by a teardown, or reset),
// waiting a moment for the connection's watcher to mark it dead so that
// clientFor connects anew.
func (c *Conn) closedUnder(client *ssh.Client, err error) bool {
	c.mu.Lock()
	dead := c.dead
	same := c.client == client
	c.mu.Unlock()
	if !same {
		return true // already replaced or torn down
	}
	select {
	case <-dead:
		return true
	default:
	}
	// The server refused the channel: the connection is fine. Any other
	// error (closed, EOF, a reset by the peer or the network) is the
	// transport's: its watcher marks it dead in a moment.
	var refused *ssh.OpenChannelError
	if errors.As(err, &refused) {
		return false
	}
	select {
	case <-dead:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
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
	if c.shell != nil && !c.shell.busy || c.shellStarting != nil {
		// A shell would hold a slot that commands and transfers need.
		c.closeShellLocked()
		freed = true
	}
	c.pipeOff = true
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
