package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/ptyauth"
)

// AuthTimeout bounds how long su or doas may take to accept a password
// before the command is stopped: a tool that waits for more than the one
// answer must not hang the host.
var AuthTimeout = 60 * time.Second

// runPrompted runs cmd under su or doas whose password (pw) must be typed
// on a terminal: the session gets a pseudo-terminal without echo and
// without output processing (the command's output arrives byte for byte,
// standard error merged into standard output), ptyauth answers the prompt
// once, and opts.Stdin follows, byte for byte, only once the command runs. With raw set,
// the command's output goes there instead of the result (downloads).
func (c *Conn) runPrompted(ctx context.Context, cmd command.Command, opts connector.Options, pw, tool string, raw io.Writer) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	shown := opts.Unix.Wrap(cmd).String()
	c.host.Logger().Debug("ssh run", "host", c.name(), "command", shown)
	if opts.OnCommand != nil {
		opts.OnCommand(shown)
	}
	input, err := ptyauth.ReadInput(opts.Stdin)
	if err != nil {
		return res, fmt.Errorf("%s: _stdin: %w", c.name(), err)
	}
	marker := ptyauth.NewMarker()
	run := ptyauth.Wrap(opts.Unix, cmd, marker, len(input))

	sess, client, err := c.newSession(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.OPOST: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("xterm", 24, 200, modes); err != nil {
		return res, connector.Errorf(c.name(), connector.ErrConnect, "requesting a pty for %s's password prompt: %w", tool, err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		return res, connector.Errorf(c.name(), connector.ErrConnect, "%w", err)
	}
	rec := connector.NewRecorder(opts.OnLine)
	var out io.Writer = rec.Stdout()
	if raw != nil {
		out = raw
	}
	ans := ptyauth.New(pw, marker, in, out)
	pid := &pidLine{next: ans, pid: make(chan int, 1)}
	sess.Stdout, sess.Stderr = pid, rec.Stderr()
	if err := sess.Start("echo $$; exec " + run.Raw()); err != nil {
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
	authLimit := time.NewTimer(AuthTimeout)
	defer authLimit.Stop()
	authed := ans.Authenticated()
	var werr error
wait:
	for {
		select {
		case <-authed:
			authed = nil
			authLimit.Stop()
			go ptyauth.FeedInput(in, input)
		case werr = <-waitErr:
			break wait
		case <-authLimit.C:
			c.stopPrompted(client, sess, pid, ans, opts, pw, tool)
			res.Output = rec.Output()
			return res, connector.Errorf(c.name(), connector.ErrAuth, "%s did not accept the password within %s", tool, AuthTimeout)
		case <-timeout:
			c.stopPrompted(client, sess, pid, ans, opts, pw, tool)
			res.Output = rec.Output()
			return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
		case <-ctx.Done():
			c.stopPrompted(client, sess, pid, ans, opts, pw, tool)
			res.Output = rec.Output()
			return res, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
		}
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
	select {
	case <-ans.Authenticated():
	default:
		return res, escalationFailed(c.name(), tool, ans)
	}
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.name(), ExitCode: res.ExitCode, Command: shown}
	}
	return res, nil
}

// stopPrompted stops a command run by runPrompted. su -c gives the
// command a session of its own, out of reach of the login user's signals
// and of the terminal's hang-up, so the escalated shell's session is
// stopped as the escalated user, through su or doas given the password
// again. Before the shell ran, closing the session hangs up the terminal,
// which ends su or doas still at their prompt.
func (c *Conn) stopPrompted(client *ssh.Client, sess *ssh.Session, pid *pidLine, ans *ptyauth.Answerer, opts connector.Options, pw, tool string) {
	if p := ans.PID(); p > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		k := connector.Options{Unix: command.Unix{SuUser: opts.SuUser, SuShell: opts.SuShell, Doas: opts.Doas, DoasUser: opts.DoasUser,
			ShellExecutable: command.NoShell}, SuPassword: opts.SuPassword, DoasPassword: opts.DoasPassword}
		_, _ = c.runPrompted(ctx, ptyauth.StopScript(p), k, pw, tool, io.Discard)
	}
	c.stopRemote(client, sess, pid, command.Unix{}, connector.Options{})
}

// escalationFailed is the error for su or doas ending before the command
// ran: refused password (an authentication error, so the engine stops
// escalating on the host) or another failure of the tool.
func escalationFailed(host, tool string, ans *ptyauth.Answerer) error {
	msg := ans.Before()
	if msg == "" {
		msg = "no message"
	}
	if ans.Asked() {
		return connector.Errorf(host, connector.ErrAuth, "%s did not accept the password (one try, not repeated): %s", tool, msg)
	}
	return connector.Errorf(host, connector.ErrCommand, "%s failed before the command ran: %s", tool, msg)
}
