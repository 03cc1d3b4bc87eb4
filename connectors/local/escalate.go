package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/ptyauth"
)

// AuthTimeout bounds how long su or doas may take to accept a password
// before the command is stopped: a tool that waits for more than the one
// answer must not hang the host.
var AuthTimeout = 60 * time.Second

// errAuthTimeout ends a command whose tool did not accept the password in
// time.
var errAuthTimeout = errors.New("password not accepted in time")

// runPrompted runs cmd under su or doas, which read the password (pw) from
// a terminal only: the command gets a pseudo-terminal of its own without
// echo and without output processing (its output arrives byte for byte,
// standard error merged into standard output), ptyauth types the password
// once at the prompt, and opts.Stdin follows, byte for byte, only once the
// command runs.
func (c *Conn) runPrompted(ctx context.Context, cmd command.Command, opts connector.Options, cfg runCfg, pw, tool string) (connector.Result, string, error) {
	res := connector.Result{ExitCode: -1}
	masked := opts.Unix.Wrap(cmd).String()
	if opts.OnCommand != nil {
		opts.OnCommand(masked)
	}
	input, err := ptyauth.ReadInput(opts.Stdin)
	if err != nil {
		return res, "", fmt.Errorf("%s: _stdin: %w", c.name(), err)
	}
	marker := ptyauth.NewMarker()
	argv := []string{Shell, "-c", ptyauth.Wrap(opts.Unix, cmd, marker, len(input)).Raw()}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if opts.Timeout > 0 {
		var stop context.CancelFunc
		runCtx, stop = context.WithTimeout(runCtx, opts.Timeout)
		defer stop()
	}
	master, tty, err := openPTY()
	if err != nil {
		return res, "", fmt.Errorf("%s: opening a pseudo-terminal for %s's password prompt: %w", c.name(), tool, err)
	}
	defer master.Close()
	if t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		t.Oflag &^= unix.OPOST
		_ = unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, t)
	}
	rec := connector.NewRecorder(opts.OnLine)
	var out io.Writer = rec.Stdout()
	if cfg.stdout != nil {
		out = cfg.stdout
	}
	ans := ptyauth.New(pw, marker, master, out)

	p := exec.Command(argv[0], argv[1:]...)
	p.Stdin, p.Stdout, p.Stderr = tty, tty, tty
	p.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	start := time.Now()
	err = p.Start()
	tty.Close()
	if err != nil {
		return res, "", fmt.Errorf("%s: starting %s: %w", c.name(), argv[0], err)
	}
	ioDone := make(chan struct{})
	go func() {
		// A terminal ends with EIO once every holder is gone.
		io.Copy(ans, master)
		close(ioDone)
	}()
	go func() {
		limit := time.NewTimer(AuthTimeout)
		defer limit.Stop()
		select {
		case <-ans.Authenticated():
			ptyauth.FeedInput(master, input)
		case <-limit.C:
			cancel(errAuthTimeout)
		case <-ioDone:
		}
	}()
	// What the login user may not signal is signalled by the same su or
	// doas, given the password again (see signalPIDs).
	res, err = c.finish(runCtx, ctx, p, rec, opts, cfg, masked, start, ioDone, []*os.File{master})
	select {
	case <-ans.Authenticated():
		return res, res.Stderr(), err
	default:
	}
	if errors.Is(context.Cause(runCtx), errAuthTimeout) && ctx.Err() == nil {
		return res, "", connector.Errorf(c.name(), connector.ErrAuth, "%s did not accept the password within %s", tool, AuthTimeout)
	}
	if res.ExitCode < 0 {
		return res, "", err
	}
	msg := ans.Before()
	if msg == "" {
		msg = "no message"
	}
	if ans.Asked() {
		return res, msg, connector.Errorf(c.name(), connector.ErrAuth, "%s did not accept the password (one try, not repeated): %s", tool, msg)
	}
	return res, msg, connector.Errorf(c.name(), connector.ErrCommand, "%s failed before the command ran: %s", tool, msg)
}
