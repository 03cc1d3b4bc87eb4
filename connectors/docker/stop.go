package docker

import (
	"context"
	"time"
)

// pendingStop is a command cut off from the engine (its stream lost or its
// stop unanswered, as when the daemon restarts or its socket goes away):
// it may still run in the container, so it is stopped once the engine
// answers again, on the next operation or at Close.
type pendingStop struct{ marker, user string }

// pendingStopWait bounds the stops tried before an operation, so that an
// engine still away costs an operation at most this much.
const pendingStopWait = 10 * time.Second

func (c *Conn) stopLater(marker, user string) {
	c.mu.Lock()
	c.pending = append(c.pending, pendingStop{marker, user})
	c.mu.Unlock()
}

// runPendingStops stops the commands cut off earlier, keeping those the
// engine did not answer for.
func (c *Conn) runPendingStops(ctx context.Context) {
	c.mu.Lock()
	todo := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pendingStopWait)
	defer cancel()
	var left []pendingStop
	for _, s := range todo {
		if err := c.kill(ctx, s.marker, s.user); err != nil {
			left = append(left, s)
		}
	}
	if len(left) > 0 {
		c.host.Logger().Warn("commands cut off from the engine could not be stopped yet", "count", len(left))
		c.mu.Lock()
		c.pending = append(left, c.pending...)
		c.mu.Unlock()
	}
}

// kill stops every process of an exec, found by its marker, from a second
// exec running as the command's user: reading another user's
// /proc/<pid>/environ needs CAP_SYS_PTRACE, which containers lack even as
// root. An error means the engine did not run the stop.
func (c *Conn) kill(ctx context.Context, marker, user string) error {
	code, err := c.execSimple(ctx, []string{"/bin/sh", "-c", killScript, "goinfra-kill", marker}, user)
	if err != nil {
		return err
	}
	if code != 0 {
		c.host.Logger().Warn("could not stop the command inside the container (needs sh and grep there)", "exit_code", code)
	}
	return nil
}
