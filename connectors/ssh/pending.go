package ssh

import (
	"context"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/connector"
)

// stopDrain bounds how long Close waits for stops under way.
var stopDrain = 5 * time.Second

// pendingStop is the stop of a command that a dead or lost connection kept
// from being stopped: its process group, and how to signal what runs as
// another user.
type pendingStop struct {
	pgid int
	mark string
	opts connector.Options
}

func (c *Conn) addPending(pgid int, mark string, opts connector.Options) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pending {
		if p.pgid == pgid {
			return
		}
	}
	c.pending = append(c.pending, pendingStop{pgid: pgid, mark: mark, opts: opts})
}

func (c *Conn) donePending(pgid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.pending {
		if p.pgid == pgid {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return
		}
	}
}

// Rebooted implements connector.Rebooter: the host rebooted, so the
// process groups of the commands a lost connection kept from being stopped
// are gone, and their numbers may now be other processes'.
func (c *Conn) Rebooted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = nil
}

// runPending stops the kept commands over a new connection; a stop that
// fails again stays kept.
func (c *Conn) runPending(client *ssh.Client) {
	c.mu.Lock()
	todo := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range todo {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c.killGroup(ctx, client, p.pgid, p.mark, p.opts)
		cancel()
		if err != nil {
			c.host.Logger().Debug("stopping a command left running failed", "host", c.name(), "pgid", p.pgid, "error", err)
			c.addPending(p.pgid, p.mark, p.opts)
			continue
		}
		c.host.Logger().Info("stopped a command left running when the connection was lost", "host", c.name(), "pgid", p.pgid)
	}
}

// finishPending is Close's last try for kept stops and for temporary files
// a lost connection left: one new connection if needed, bounded by the
// connect timeout, so the end of a run stops what it started and removes
// its debris once the host answers again.
func (c *Conn) finishPending() {
	// Stops under way finish first (a slow host, not a dead one, is the
	// usual reason they are): bounded, so a dead host does not hold Close.
	waited := make(chan struct{})
	go func() { c.stops.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(stopDrain):
	}
	c.mu.Lock()
	n := len(c.pending) + len(c.orphans)
	settings := c.settings
	c.closing = true
	c.mu.Unlock()
	if n == 0 || settings == nil {
		return
	}
	c.host.Logger().Debug("reaching the host again to stop commands and remove temporary files", "host", c.name(), "count", n)
	ctx, cancel := context.WithTimeout(context.Background(), c.connectTimeout(settings)+time.Second)
	defer cancel()
	c.dropIfSilent(2 * time.Second)
	client, err := c.clientFor(ctx)
	if err != nil {
		c.host.Logger().Warn("commands may still run on the host: it could not be reached to stop them", "host", c.name(), "error", err)
		return
	}
	c.runPending(client)
	c.removeOrphans(ctx)
	c.mu.Lock()
	left := len(c.pending)
	c.mu.Unlock()
	if left > 0 {
		c.host.Logger().Warn("commands may still run on the host: stopping them failed", "host", c.name(), "count", left)
	}
}

// dropIfSilent closes the connection when it does not answer a keepalive
// within limit (a network that died and came back leaves a connection
// that never answers again), so that the next use connects anew.
func (c *Conn) dropIfSilent(limit time.Duration) {
	c.mu.Lock()
	client := c.client
	alive := c.alive()
	c.mu.Unlock()
	if !alive {
		return
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	select {
	case err := <-reply:
		if err == nil {
			return
		}
	case <-time.After(limit):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == client {
		c.teardownLocked()
	}
}
