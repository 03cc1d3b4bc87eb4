package escalate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// errAuthTimeout ends a command whose tool did not accept the password in
// time.
var errAuthTimeout = errors.New("password not accepted in time")

// runPrompted runs cmd under su or doas, which read the password (pw) from
// a terminal only: on a pseudo-terminal of the connector's (its output
// arrives byte for byte, standard error merged into standard output), the
// answerer types the password once at the prompt, and opts.Stdin follows,
// byte for byte, only once the command runs. With opts.Stdout set the
// command's output goes there (downloads).
//
// The layer keeps the command's time itself: su -c gives the command a
// session of its own, out of the login user's reach, so a stop runs as the
// escalated user, through su or doas given the password again.
func (c *Conn) runPrompted(ctx context.Context, cmd command.Command, opts connector.Options, pw, tool string) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	if _, ok := connector.As[connector.Terminal](c.conn); !ok {
		return res, connector.Errorf(c.cfg.Host, connector.ErrUnsupported,
			"%s reads its password from a terminal, which this connector does not provide", tool)
	}
	start := time.Now()
	shown := opts.Unix.Wrap(cmd).String()
	if opts.OnCommand != nil {
		opts.OnCommand(shown)
	}
	input, err := readInput(opts.Stdin)
	if err != nil {
		return res, fmt.Errorf("%s: _stdin: %w", c.cfg.Host, err)
	}
	marker := newMarker()
	rec := connector.NewRecorderFor(opts, nil)
	var out io.Writer = rec.Stdout()
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	inR, inW := io.Pipe()
	defer inW.Close()
	typed := newQueue(inW)
	defer typed.close()
	ans := newAnswerer(pw, marker, typed, out)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	inner := connector.Options{
		Unix:             command.Unix{ShellExecutable: command.NoShell},
		PTY:              true,
		Stdin:            inR,
		Stdout:           ans,
		SuccessExitCodes: opts.SuccessExitCodes,
		// What the connector finds still running as the escalated user
		// when it stops the command, it signals through su or doas too.
		Kill: func(ctx context.Context, kill command.Command) error {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
			defer cancel()
			_, err := c.runPrompted(ctx, kill, stopOptions(opts), pw, tool)
			return err
		},
	}
	type outcome struct {
		res connector.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := c.conn.Run(runCtx, terminalWrap(opts.Unix, cmd, marker, len(input)), inner)
		inR.Close()
		done <- outcome{r, err}
	}()

	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	authLimit := time.NewTimer(AuthTimeout)
	defer authLimit.Stop()
	authed := ans.Authenticated()
	var o outcome
wait:
	for {
		select {
		case <-authed:
			authed = nil
			authLimit.Stop()
			go feedInput(inW, input)
		case o = <-done:
			break wait
		case <-authLimit.C:
			c.stopPrompted(ctx, ans, opts, pw, tool)
			cancel(errAuthTimeout)
			<-done
			res.Output, res.Duration = rec.Output(), time.Since(start)
			return res, connector.Errorf(c.cfg.Host, connector.ErrAuth, "%s did not accept the password within %s", tool, AuthTimeout)
		case <-timeout:
			c.stopPrompted(ctx, ans, opts, pw, tool)
			cancel(nil)
			<-done
			res.Output, res.Duration = rec.Output(), time.Since(start)
			return res, &connector.TimeoutError{Host: c.cfg.Host, Limit: opts.Timeout}
		case <-ctx.Done():
			c.stopPrompted(ctx, ans, opts, pw, tool)
			<-done
			res.Output, res.Duration = rec.Output(), time.Since(start)
			return res, connector.Errorf(c.cfg.Host, connector.ErrTimeout, "command stopped: %w", ctx.Err())
		}
	}
	rec.Flush()
	res = o.res
	res.Output, res.Duration = rec.Output(), time.Since(start)
	select {
	case <-ans.Authenticated():
	default:
		if o.err != nil && !errors.Is(o.err, connector.ErrCommand) {
			return res, o.err
		}
		return res, escalationFailed(c.cfg.Host, tool, ans)
	}
	var ce *connector.CommandError
	if errors.As(o.err, &ce) {
		return res, &connector.CommandError{Host: c.cfg.Host, ExitCode: res.ExitCode, Command: shown}
	}
	return res, o.err
}

// queue writes to w in order from a goroutine of its own, so that typing
// the password never waits for the connector to read the command's input:
// a connector may read it only between deliveries of output.
type queue struct{ ch chan []byte }

func newQueue(w io.Writer) *queue {
	q := &queue{ch: make(chan []byte, 8)}
	go func() {
		for b := range q.ch {
			_, _ = w.Write(b)
		}
	}()
	return q
}

func (q *queue) Write(p []byte) (int, error) {
	q.ch <- append([]byte(nil), p...)
	return len(p), nil
}

func (q *queue) close() { close(q.ch) }

// stopPrompted stops the escalated shell's session as the escalated user,
// through su or doas given the password again. Before the shell ran there
// is nothing to stop as that user: ending the connector's command hangs up
// the terminal, which ends su or doas still at their prompt.
func (c *Conn) stopPrompted(ctx context.Context, ans *answerer, opts connector.Options, pw, tool string) {
	p := ans.PID()
	if p <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
	defer cancel()
	_, _ = c.runPrompted(ctx, stopScript(p), stopOptions(opts), pw, tool)
}

// stopOptions run a stop as the user opts switch to, through su or doas.
func stopOptions(opts connector.Options) connector.Options {
	return connector.Options{Unix: command.Unix{SuUser: opts.SuUser, SuShell: opts.SuShell, Doas: opts.Doas, DoasUser: opts.DoasUser,
		ShellExecutable: command.NoShell}, SuPassword: opts.SuPassword, DoasPassword: opts.DoasPassword, Stdout: io.Discard}
}

// escalationFailed is the error for su or doas ending before the command
// ran: a refused password (an authentication error, so escalation stops on
// the host) or another failure of the tool.
func escalationFailed(host, tool string, ans *answerer) error {
	msg := ans.Before()
	if msg == "" {
		msg = "no message"
	}
	if ans.Asked() {
		return connector.Errorf(host, connector.ErrAuth, "%s did not accept the password (one try, not repeated): %s", tool, msg)
	}
	return connector.Errorf(host, connector.ErrCommand, "%s failed before the command ran: %s", tool, msg)
}
