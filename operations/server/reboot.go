package server

import (
	"context"
	"fmt"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

func init() {
	operations.Register(rebootOp)
}

var rebootOp = operations.Op{
	Name:        "server.reboot",
	Description: "reboot the host and wait until it can be connected to again (every time)",
	Args: []operations.Arg{
		{Name: "delay", Type: connector.Float, Default: 10.0, Description: "seconds to wait after the reboot command before reconnecting"},
		{Name: "interval", Type: connector.Float, Default: 1.0, Description: "seconds between attempts to reconnect"},
		{Name: "reboot_timeout", Type: connector.Float, Default: 300.0, Description: "seconds after the delay to give up reconnecting"},
	},
	Plan: planReboot,
}

// rebootCommand is what server.reboot runs on the host.
const rebootCommand = "reboot"

func planReboot(_ context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	delay, interval, timeout := args.Float("delay"), args.Float("interval"), args.Float("reboot_timeout")
	switch {
	case delay < 0:
		return nil, fmt.Errorf("delay: %g is negative", delay)
	case interval <= 0:
		return nil, fmt.Errorf("interval: %g is not positive", interval)
	case timeout <= 0:
		return nil, fmt.Errorf("reboot_timeout: %g is not positive", timeout)
	}
	host := h.Name()
	return &operations.Plan{Steps: []operations.Step{
		&operations.Func{Desc: rebootCommand, Do: runReboot},
		&operations.Func{
			Desc: fmt.Sprintf("wait %gs, then reconnect every %gs for up to %gs", delay, interval, timeout),
			Do: func(ctx context.Context, conn connector.Conn, _ connector.Options) error {
				return reconnect(ctx, conn, host, seconds(delay), seconds(interval), seconds(timeout))
			},
		},
	}}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// runReboot runs the reboot command as the operation's user. A lost
// connection (exit code -1) is what a reboot looks like, so it is success
// too, as pyinfra's _success_exit_codes=[0, -1].
func runReboot(ctx context.Context, conn connector.Conn, opts connector.Options) error {
	opts.SuccessExitCodes = []int{0, -1}
	res, err := conn.Run(ctx, command.New(rebootCommand), opts)
	if err != nil && res.ExitCode == -1 && ctx.Err() == nil {
		return nil
	}
	return err
}

// reconnect waits delay, drops conn's connection (the host is going
// down, whatever conn believes) without stopping later what ran before
// the reboot (connector.Rebooter), and connects again every interval until
// it succeeds or timeout has passed since the first attempt: then the
// error, of class connector.ErrTimeout, names host.
func reconnect(ctx context.Context, conn connector.Conn, host string, delay, interval, timeout time.Duration) error {
	if err := sleep(ctx, delay); err != nil {
		return err
	}
	if r, ok := connector.As[connector.Rebooter](conn); ok {
		r.Rebooted()
	}
	conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		// One attempt may not outlast the deadline (a connector retries
		// on its own).
		actx, cancel := context.WithDeadline(ctx, deadline)
		err := conn.Connect(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Until(deadline) < interval {
			return connector.Errorf(host, connector.ErrTimeout,
				"the host did not come back from its reboot within reboot_timeout=%gs: %w", timeout.Seconds(), err)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
