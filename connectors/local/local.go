//go:build unix

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/procgroup"
	"github.com/goinfra-dev/goinfra/internal/termecho"
)

// Description implements connector.Describer.
func (Driver) Description() string {
	return "the machine goinfra runs on: commands through /bin/sh, files by local copy"
}

// Open returns a Conn for h (which may be nil: the host is then "@local").
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	return New(h), nil
}

var _ connector.Terminal = (*Conn)(nil)

// Terminal implements connector.Terminal.
func (c *Conn) Terminal() {}

// Connect does nothing: the local machine is always there. Run, Put and
// Get work without it.
func (c *Conn) Connect(context.Context) error { return nil }

// Close does nothing.
func (c *Conn) Close() error { return nil }

// Run runs cmd wrapped as opts say. See connector.Conn.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res, _, err := c.run(ctx, cmd, opts, runCfg{})
	return res, err
}

// runCfg holds run's internal settings.
type runCfg struct {
	// plainStop stops the command with signals only, never with an
	// escalated kill (which is itself such a command).
	plainStop bool
}

// run is Run with internal settings. It also returns the stderr text, for
// transfer error messages.
func (c *Conn) run(ctx context.Context, cmd command.Command, opts connector.Options, cfg runCfg) (connector.Result, string, error) {
	res := connector.Result{ExitCode: -1}
	if err := opts.Unix.Validate(); err != nil {
		return res, "", fmt.Errorf("%s: %w", c.name(), err)
	}
	if err := ctx.Err(); err != nil {
		return res, "", fmt.Errorf("%s: command not started: %w", c.name(), err)
	}
	stdin := opts.Stdin
	argv := argvFor(cmd, opts.Unix)
	masked := opts.Unix.Wrap(cmd).String()
	if opts.OnCommand != nil {
		opts.OnCommand(masked)
	}

	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}

	rec := connector.NewRecorderFor(opts, c.host.Logger())
	p := exec.Command(argv[0], argv[1:]...)
	// Output is read from pipes (or a terminal) this function owns, not
	// exec's, so that it can stop reading when a stopped command left
	// something behind that holds them open.
	var (
		readers    []*os.File
		sinks      []io.Writer
		childFiles []*os.File
		stdinW     io.WriteCloser
	)
	if opts.PTY {
		master, tty, err := openPTY()
		if err != nil {
			return res, "", fmt.Errorf("%s: opening a pseudo-terminal: %w", c.name(), err)
		}
		p.Stdin, p.Stdout, p.Stderr = tty, tty, tty
		// A session of its own, with the terminal as its controlling one;
		// its process group is the session's.
		p.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		out := rec.Stdout()
		if opts.Stdout != nil {
			out = opts.Stdout
		}
		readers, sinks, childFiles = []*os.File{master}, []io.Writer{out}, []*os.File{tty}
		if stdin != nil {
			stdinW = ptyInput{master: master, last: new(byte)}
		}
	} else {
		outR, outW, err := os.Pipe()
		if err != nil {
			return res, "", fmt.Errorf("%s: %w", c.name(), err)
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			outR.Close()
			outW.Close()
			return res, "", fmt.Errorf("%s: %w", c.name(), err)
		}
		p.Stdout, p.Stderr = outW, errW
		// A session (and process group) of its own: stopping the group
		// reaches whatever the command started, and without a controlling
		// terminal nothing it runs can prompt on, or read from, the user's.
		p.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out := rec.Stdout()
		if opts.Stdout != nil {
			out = opts.Stdout
		}
		readers, sinks, childFiles = []*os.File{outR, errR}, []io.Writer{out, rec.Stderr()}, []*os.File{outW, errW}
		if stdin != nil {
			// Wait closes this pipe once the command exits, so a command
			// that does not read its input does not hang the copy.
			if stdinW, err = p.StdinPipe(); err != nil {
				return res, "", fmt.Errorf("%s: %w", c.name(), err)
			}
		}
	}
	defer func() {
		for _, f := range readers {
			f.Close()
		}
	}()
	start := time.Now()
	err := p.Start()
	for _, f := range childFiles {
		f.Close()
	}
	if err != nil {
		return res, "", fmt.Errorf("%s: starting %s: %w", c.name(), argv[0], err)
	}
	if stdinW != nil {
		go func() {
			io.Copy(stdinW, stdin)
			stdinW.Close()
		}()
	}
	ioDone := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A terminal ends with EIO once every holder is gone.
			io.Copy(sinks[i], r)
		}()
	}
	go func() {
		wg.Wait()
		close(ioDone)
	}()
	res, err = c.finish(runCtx, ctx, p, rec, opts, cfg, masked, start, ioDone, readers)
	return res, res.Stderr(), err
}

// ptyInput feeds a terminal: closing it sends end-of-file (^D) rather than
// closing the terminal.
type ptyInput struct {
	master *os.File
	last   *byte
}

func (p ptyInput) Write(b []byte) (int, error) {
	n, err := p.master.Write(b)
	if n > 0 {
		*p.last = b[n-1]
	}
	return n, err
}

func (p ptyInput) Close() error {
	eof := []byte{4}
	if *p.last != '\n' && *p.last != 0 {
		// The first ^D only ends the unfinished line.
		eof = []byte{4, 4}
	}
	_, err := p.master.Write(eof)
	return err
}

// finish waits for a started command and for its output to end. When
// runCtx ends first it stops the command's process group: SIGTERM, then
// SIGKILL after KillGrace, then it stops reading output held open by
// anything that escaped the group.
func (c *Conn) finish(runCtx, ctx context.Context, p *exec.Cmd, rec *connector.Recorder, opts connector.Options,
	cfg runCfg, masked string, start time.Time, ioDone chan struct{}, readers []*os.File) (connector.Result, error) {
	pgid := p.Process.Pid
	var waitErr error
	done := make(chan struct{})
	go func() {
		waitErr = p.Wait()
		<-ioDone
		close(done)
	}()
	select {
	case <-done:
	case <-runCtx.Done():
		tr := newTracker(pgid)
		c.signal(tr, syscall.SIGTERM, opts, cfg)
		// Keep looking for what the command starts while it stops: a
		// process that was still setting up (su does PAM first) may start
		// a session of its own after the signal.
		poll := time.NewTicker(50 * time.Millisecond)
		grace := time.After(KillGrace)
	waitTerm:
		for {
			select {
			case <-done:
				break waitTerm
			case <-poll.C:
				if fresh := tr.scan(); len(fresh) > 0 {
					c.signalPIDs(fresh, syscall.SIGTERM, opts, cfg)
				}
				continue
			case <-grace:
			}
			// Something still runs or holds the output open: the group
			// (whose id cannot be reused while it has members) and the
			// sessions seen are still there.
			tr.scan()
			c.signal(tr, syscall.SIGKILL, opts, cfg)
			select {
			case <-done:
			case <-time.After(KillGrace):
				for _, f := range readers {
					f.Close()
				}
				<-done
			}
			break
		}
		poll.Stop()
	}

	res := connector.Result{Output: rec.Output(), Duration: time.Since(start), ExitCode: -1}
	if runCtx.Err() != nil {
		switch {
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return res, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
		case ctx.Err() != nil:
			return res, fmt.Errorf("%s: command stopped: %w", c.name(), ctx.Err())
		default:
			return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
		}
	}
	res.ExitCode = procgroup.ExitCode(p.ProcessState)
	if waitErr != nil && res.ExitCode < 0 {
		return res, fmt.Errorf("%s: %w", c.name(), waitErr)
	}
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.name(), ExitCode: res.ExitCode, Command: masked}
	}
	return res, nil
}

// argvFor is the process to start for cmd. When nothing but a shell wraps
// the command, that shell is started directly instead of through /bin/sh:
// the same command line reaches the same shell, one process fewer.
func argvFor(cmd command.Command, u command.Unix) []string {
	shell := u.ShellExecutable
	if shell == "" {
		shell = command.DefaultShell
	}
	if !u.Escalates() && shell != command.NoShell && onPath(shell) {
		inner := command.Unix{Env: u.Env, Chdir: u.Chdir, ShellExecutable: command.NoShell}.Wrap(cmd)
		return []string{shell, "-c", inner.Raw()}
	}
	return []string{Shell, "-c", u.Wrap(cmd).Raw()}
}

// onPath reports whether exec can find name (otherwise /bin/sh reports
// the missing shell with exit code 127, as a wrapped command would).
func onPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// openPTY opens a pseudo-terminal whose slave side does not echo input
// (stdin data would otherwise come back as output).
func openPTY() (master, tty *os.File, err error) {
	master, tty, err = pty.Open()
	if err != nil {
		return nil, nil, err
	}
	_ = termecho.Disable(int(tty.Fd()))
	return master, tty, nil
}
