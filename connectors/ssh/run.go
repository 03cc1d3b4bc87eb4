package ssh

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// pidLine takes the first line of stdout (the remote shell's PID, which is
// also its process group: sshd starts every session command with setsid)
// and passes everything after it on.
type pidLine struct {
	// mark is the value of GOINFRA_RUN in the command's environment: it
	// finds what the command started in sessions of their own (setsid).
	mark string
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
	start := time.Now()
	res, err := c.run(ctx, cmd, opts)
	res.Duration = time.Since(start)
	return res, err
}

// run is Run without the timing: its many returns would each have to set
// Duration otherwise.
func (c *Conn) run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	unix := opts.Unix
	stdin := opts.Stdin
	wrapped := unix.Wrap(cmd)
	c.host.Logger().Debug("ssh run", "host", c.name(), "command", wrapped.String())
	if opts.OnCommand != nil {
		opts.OnCommand(wrapped.String())
	}
	// The deadline runs from here: opening the session and starting the
	// command count, so a dead network cannot hold the command past it.
	var timeout <-chan time.Time
	openCtx := ctx
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
		var cancel context.CancelFunc
		openCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	// The command line prints its PID (= process group) first, so that a
	// timeout can stop the whole group from a second session even where
	// sshd ignores "signal" requests (see sessionLine). It runs in the
	// host's pipelined shell when it can (pipeline.go), else in a session.
	execs := unix.ShellExecutable != command.NoShell || unix.Escalates()
	piped := pipelinable(opts) && c.wantsShell()
	if piped {
		client, err := c.clientFor(openCtx)
		if err != nil {
			if ctx.Err() == nil && openCtx.Err() != nil {
				return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
			}
			return res, err
		}
		if s := c.shellFor(openCtx, client); s != nil {
			rec := connector.NewRecorderFor(opts, c.host.Logger())
			out := rec.Stdout()
			if opts.Stdout != nil {
				out = opts.Stdout
			}
			pid := &pidLine{mark: randomSuffix(), pid: make(chan int, 1)}
			nonce := newNonce()
			r, err := c.runPiped(ctx, s, pipedLine(startFrames(nonce), pid.mark, cmd, unix), pid, nonce,
				opts, rec, out, timeout, wrapped.String())
			if !errors.Is(err, errNotStarted) {
				res = r
				return res, err
			}
			c.host.Logger().Debug("ssh pipelining: the shell ended, running the command in a session", "host", c.name())
		}
	}
	sess, client, err := c.newSession(openCtx, piped)
	if err != nil {
		if ctx.Err() == nil && openCtx.Err() != nil {
			return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
		}
		return res, err
	}
	defer sess.Close()
	if opts.PTY {
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("xterm", 24, 200, modes); err != nil {
			return res, connector.Errorf(c.name(), connector.ErrConnect, "requesting a pty: %w", err)
		}
	}
	rec := connector.NewRecorderFor(opts, c.host.Logger())
	out := rec.Stdout()
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	pid := &pidLine{mark: randomSuffix(), next: out, pid: make(chan int, 1)}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return res, connector.Errorf(c.name(), connector.ErrConnect, "starting the command: %w", err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return res, connector.Errorf(c.name(), connector.ErrConnect, "starting the command: %w", err)
	}
	if stdin != nil {
		sess.Stdin = stdin
	}
	line := sessionLine("echo $$; ", pid.mark, wrapped, execs)
	// A goroutine starts the command, then two more copy its output, one of
	// them waiting for its end too, while this one watches the clock. With
	// sess.Stdout and Stderr set, x/crypto would copy through io.Copy, whose
	// frames on top of a parked read outgrow a goroutine's first stack, and
	// take one more goroutine for the wait (1,000 hosts running a command
	// hold 1,000 stacks of each). The copies do not run where Start ran:
	// Start's frames (x/crypto marshals requests by reflection) would have
	// doubled that stack for the whole command. They run even when this one
	// has stopped waiting for the start, so that a late PID line still names
	// what to stop.
	started, waitErr := make(chan error, 1), make(chan error, 1)
	go func() {
		err := sess.Start(line)
		if err == nil {
			errDone := make(chan error, 1)
			go func() {
				_, err := connector.CopyOutput(rec.Stderr(), stderr)
				errDone <- err
			}()
			go func() {
				_, cerr := connector.CopyOutput(pid, stdout)
				werr := sess.Wait()
				if eerr := <-errDone; cerr == nil {
					cerr = eerr
				}
				if werr == nil {
					werr = cerr // as x/crypto reports a failed copy
				}
				waitErr <- werr
			}()
		}
		started <- err
	}()
	select {
	case err := <-started:
		if err != nil {
			return res, connector.Errorf(c.name(), connector.ErrConnect, "starting the command: %w", err)
		}
	case <-timeout:
		// The server never answered: whether the command runs is not
		// known; if it does, its PID line names what to stop.
		c.stopRemote(client, sess, pid, opts)
		return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
	case <-ctx.Done():
		c.stopRemote(client, sess, pid, opts)
		return res, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
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
	case werr == io.EOF && stdin != nil && !c.lost(client):
		// Exit status 0 and input left unread: x/crypto's Wait reports its
		// copy of the input, which the command's end cut short. As with
		// OpenSSH's ssh, the exit status decides.
		res.ExitCode = 0
	case errors.As(werr, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		if exitErr.Signal() != "" && exitErr.ExitStatus() == 0 {
			res.ExitCode = signalExit(exitErr.Signal())
		}
	case errors.As(werr, &missing) || c.lost(client):
		// The command may still run on the host: stop it once the host
		// can be reached again.
		c.stopLater(pid, opts)
		return res, connector.Errorf(c.name(), connector.ErrConnect, "connection lost while the command ran (the next command reconnects)")
	default:
		return res, connector.Errorf(c.name(), connector.ErrConnect, "%w", werr)
	}
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.name(), ExitCode: res.ExitCode, Command: wrapped.String()}
	}
	return res, nil
}

// sessionLine is what runs wrapped: first, the PID (= process group) is
// printed, then GOINFRA_RUN marks the environment of everything the
// command starts, also what leaves its process group (sudo resets the
// environment, so an escalated command's children are found by their
// group only), and the command is exec'd where it is one simple command.
func sessionLine(printPID, mark string, wrapped command.Command, execs bool) string {
	prefix := printPID + "GOINFRA_RUN=" + mark + "; export GOINFRA_RUN; "
	if !execs {
		return prefix + wrapped.Raw()
	}
	return prefix + "exec " + wrapped.Raw()
}

// stopWait bounds how long a timed-out or cancelled command waits for its
// stop: over a dead network the stop waits for the host to be reachable
// again (pendingStop), while the caller gets its error on time.
var stopWait = 2 * time.Second

// stopRemote stops a command that ran past its time: a TERM then KILL to
// its process group from a second session, plus a "signal" request for
// sshds that honour it. What runs as another user is signalled through the
// command's own escalation too (opts.Kill, from the escalation layer). It
// returns within about stopWait; a stop the host did not answer is kept
// and done once the host can be reached again.
func (c *Conn) stopRemote(client *ssh.Client, sess *ssh.Session, pid *pidLine, opts connector.Options) {
	done := make(chan struct{})
	c.stops.Add(1)
	go func() {
		defer c.stops.Done()
		defer close(done)
		if sess != nil {
			// Never to the pipelined shell (sess nil): it outlives the command.
			_ = sess.Signal(ssh.SIGTERM)
		}
		var pgid int
		select {
		case pgid = <-pid.pid:
		case <-time.After(stopWait):
		}
		c.host.Logger().Debug("stopping a command", "host", c.name(), "pgid", pgid)
		if pgid > 1 {
			// Kept until done: a Close meanwhile does it over a new
			// connection.
			c.addPending(pgid, pid.mark, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.killGroup(ctx, client, pgid, pid.mark, opts); err == nil {
				c.donePending(pgid)
			}
		}
		if sess != nil {
			sess.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(stopWait):
		c.host.Logger().Info("stopping the command takes longer than usual: it goes on beside the run (and once the host can be reached again, if it cannot now)", "host", c.name())
	}
}

// killGroup signals process group pgid over client: TERM, then KILL, as
// the login user and, for an escalated command, as the user it runs as.
func (c *Conn) killGroup(ctx context.Context, client *ssh.Client, pgid int, mark string, opts connector.Options) error {
	kill := command.Shell(killScript(pgid, mark))
	var errs []error
	if opts.Kill != nil {
		errs = append(errs, opts.Kill(ctx, kill))
	}
	ks, err := openSession(ctx, client)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer ks.Close()
	done := make(chan error, 1)
	go func() { done <- ks.Run(kill.Raw()) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return errors.Join(append(errs, err)...)
}

// stopLater keeps the stop of a command whose connection was lost.
func (c *Conn) stopLater(pid *pidLine, opts connector.Options) {
	select {
	case pgid := <-pid.pid:
		if pgid > 1 {
			c.addPending(pgid, pid.mark, opts)
		}
	default:
	}
}

// killScript signals the command whose PID is pid: its process group (a
// command that setsid started leads one), the process itself (one run
// without setsid shares the shell's group), and every process whose
// environment holds GOINFRA_RUN=mark (where /proc tells; one grep for all
// of them): TERM, then KILL.
func killScript(pid int, mark string) string {
	p := strconv.Itoa(pid)
	round := func(sig string) string {
		s := "kill -" + sig + " -" + p + " " + p + " 2>/dev/null; "
		if mark != "" {
			s += `for f in $(grep -las 'GOINFRA_RUN=` + mark + `' /proc/[0-9]*/environ); do f=${f#/proc/}; kill -` + sig + ` "${f%/environ}" 2>/dev/null; done; `
		}
		return s
	}
	return round("TERM") + "sleep 0.3; " + round("KILL") + "true"
}

// signalNumbers are the RFC 4254 signal names an sshd reports in
// "exit-signal", with their numbers on Linux and the BSDs (the same for
// these).
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8,
	"KILL": 9, "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15,
}

// signalExit is the exit code a shell reports for a command a signal
// killed, 128+signal, so that ssh agrees with the other connectors; -1 for
// a signal without a portable number (USR1, USR2).
func signalExit(name string) int {
	if n, ok := signalNumbers[strings.TrimPrefix(name, "SIG")]; ok {
		return 128 + n
	}
	return -1
}
