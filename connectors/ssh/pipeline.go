package ssh

// Pipelining: consecutive commands of a host run in one long-lived remote
// sh instead of a session channel each. sshd starting a session and the
// user's shell costs ~4.7 ms of server CPU and a round trip per command;
// a command written to a shell that is already running costs one fork
// and one round trip.
//
// The shell is `exec sh`, fed on its standard input. Each command is one
// line, `eval '<script>'`, where the script is
//
//	[setsid] sh -c '<command line>' </dev/null; r=$?
//	printf '\036<nonce> e %s\n' $r; printf '\036<nonce> e\n' >&2
//
// and the command line is the one Run builds for a session: it prints a
// start frame on both streams (`\036<start nonce> p $$` on stdout: its
// PID), marks its environment with GOINFRA_RUN and runs the command. So
// the command runs in the foreground (a background job would start with
// SIGINT and SIGQUIT ignored, for good), with /dev/null as its input, and
// it writes to the session's own stdout and stderr: its output reaches the
// controller as it arrives, untouched. (A relay such as `cat` per stream
// would cost two forks more; on a loaded host forks and execs are the
// expensive part.)
//
// A timeout or cancel stops the command and what it started, never the
// shell, from a second session: where the host has /proc/PID/environ, by
// its PID and by the GOINFRA_RUN mark of what it started, so the command
// needs no process group of its own and runs as `sh -c` (one fork and one
// exec); elsewhere, and for a command that runs as another user (sudo
// resets the environment, so its processes carry no mark), setsid gives it
// a session and process group of its own, which the stop signals (an exec
// more: about 1.9 ms of a loaded host's CPU per command, as much as the
// rest). Without setsid the command shares the shell's process group, so
// the shell traps TERM, INT and HUP (a trap, not an ignore, which the
// command would inherit): a command's `kill 0` ends it and what it
// started, and the shell goes on.
//
// The end frames carry a nonce of 128 random bits made for this command
// and known to the shell only (a process of another user cannot read the
// shell's memory; one of the login user can do all the connection can
// anyway), so no output can end a frame early or forge an exit code. The start frames have a nonce of their own (it is on the
// command's command line), looked for only before the command's output.
// What comes before them is not this command's: what a previous command's
// background processes printed after it ended is dropped, or, printed
// while the next command runs, is seen as that one's (a session would have
// waited for them to close their output; here the command's result comes
// when it exits). eval keeps a command that broke the shell's
// parsing from swallowing the lines after it: the shell fails on it and
// exits, and the command falls back to a session.
//
// Commands with standard input (the sudo password among it), a terminal
// (su and doas password prompts), or that find the shell busy still get a
// session of their own; so does every command when the shell cannot be
// started (no setsid) or dies.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// defaultPipelining is ssh_pipelining's default.
const defaultPipelining = true

// shellStartTimeout bounds starting the shell (a session and the user's
// shell); until it is up commands use sessions.
var shellStartTimeout = 30 * time.Second

// maxShellFailures stops reopening a shell that keeps failing.
const maxShellFailures = 3

// frameMark starts every frame: a control character that text rarely
// holds, so output is almost never held back waiting for the rest of a
// frame.
const frameMark = "\036"

// shell is a host's long-lived remote sh.
type shell struct {
	sess   *ssh.Session
	client *ssh.Client
	in     io.WriteCloser
	out    *frameStream // stdout: the command's output and its frames
	errs   *frameStream // stderr: the command's errors and its end frame
	busy   bool         // a command runs (or its frames are still read)
	// marks: whether the host has /proc/PID/environ, where a command's
	// processes are found by their GOINFRA_RUN mark; a command that
	// escalates nothing then needs no setsid (see the top of this file).
	// Known once the setup's answer is read (marksYes, marksNo); until
	// then (marksUnknown) the shell decides.
	marks atomic.Int32
	// setupTok is the setup's frame, while its answer is still to be read
	// (by the first command's frames: the setup costs no round trip of
	// its own). Only the holder of the shell touches it.
	setupTok string
}

// The shell's marks.
const (
	marksUnknown int32 = iota
	marksYes
	marksNo
)

func (s *shell) close() {
	s.in.Close()
	s.sess.Close()
}

// pipelining reports whether ssh_pipelining is on for the host.
func (c *Conn) pipelining() bool {
	if v, ok := c.data()[KeyPipelining].(bool); ok {
		return v
	}
	return defaultPipelining
}

// pipelinable reports whether a command with opts can run in the shell.
func pipelinable(opts connector.Options) bool {
	return !opts.PTY && opts.Stdin == nil
}

// takeShell returns the host's idle shell, marked busy, or nil. From the
// second pipelinable command on, it starts the shell in the background:
// a one-command run never pays for one.
func (c *Conn) takeShell(client *ssh.Client) *shell {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pipelining() || c.pipeOff || c.client != client || !c.alive() {
		return nil
	}
	if s := c.shell; s != nil {
		if s.busy {
			return nil
		}
		s.busy = true
		return s
	}
	c.pipeAsks++
	if c.pipeAsks >= 2 && c.shellOpened == nil {
		c.shellOpened = make(chan struct{})
		go c.openShell(client)
	}
	return nil
}

// shellFor is takeShell for one command: while the host's shell is being
// started (by ExpectCommands, or by this command being the host's second)
// the command waits for it instead of opening a session of its own: the
// shell is on its way already, and a session costs the host as much CPU
// as the shell and as many round trips.
func (c *Conn) shellFor(ctx context.Context, client *ssh.Client) *shell {
	if s := c.takeShell(client); s != nil {
		return s
	}
	c.mu.Lock()
	opened := c.shellOpened
	c.mu.Unlock()
	if opened == nil {
		return nil
	}
	select {
	case <-opened:
	case <-ctx.Done():
		return nil
	}
	return c.takeShell(client)
}

// ExpectCommands implements connector.Expecter: the shell starts now, in
// the background, instead of at the second command.
func (c *Conn) ExpectCommands() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pipelining() || c.pipeOff || c.shell != nil || c.shellOpened != nil || c.client == nil || !c.alive() {
		return
	}
	c.shellOpened = make(chan struct{})
	go c.openShell(c.client)
}

// wantsShell reports whether pipelinable commands are, or are about to
// be, served by the shell: their sessions then need no spare.
func (c *Conn) wantsShell() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pipelining() && !c.pipeOff
}

// releaseShell returns s after a command's frames were all read; a shell
// that failed (err) is dropped (the next command starts a new one).
func (c *Conn) releaseShell(s *shell, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && c.shell == s {
		s.busy = false
		return
	}
	if c.shell == s {
		c.shell = nil
		c.shellFailed()
	}
	if errors.Is(err, errShellSetup) {
		// The host's sh cannot serve commands (no setsid): another
		// shell would end the same way.
		c.pipeOff = true
		c.host.Logger().Debug("ssh pipelining: the remote shell ended at its setup, commands use sessions", "host", c.name())
	}
	go s.close()
}

// shellFailed counts a shell that could not start or died; c.mu is held.
func (c *Conn) shellFailed() {
	c.shellFailures++
	if c.shellFailures >= maxShellFailures {
		c.pipeOff = true
	}
}

// closeShellLocked closes the shell (and one being started) at teardown
// or to free its session slot; c.mu is held.
func (c *Conn) closeShellLocked() {
	if c.shell != nil {
		go c.shell.close()
		c.shell = nil
	}
	if c.shellStarting != nil {
		c.shellStarting.Close()
		c.shellStarting = nil
	}
}

// openShell starts the host's shell; on failure commands keep using
// sessions (and the shell is tried again, up to maxShellFailures times).
func (c *Conn) openShell(client *ssh.Client) {
	s, err := c.startShell(client)
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.shellOpened)
	c.shellOpened = nil
	c.shellStarting = nil
	if err == nil && (c.client != client || c.pipeOff || c.shell != nil || c.closing) {
		err = errors.New("not needed any more")
	}
	if err != nil {
		if s != nil {
			go s.close()
		}
		var refused *ssh.OpenChannelError
		if errors.As(err, &refused) {
			// The server limits sessions (MaxSessions): a shell would
			// hold a slot commands and transfers need.
			c.pipeOff = true
		}
		c.shellFailed()
		c.host.Logger().Debug("ssh pipelining: no remote shell, commands use sessions", "host", c.name(), "error", err)
		return
	}
	c.shell = s
}

func (c *Conn) startShell(client *ssh.Client) (*shell, error) {
	ctx, cancel := context.WithTimeout(context.Background(), shellStartTimeout)
	defer cancel()
	sess, err := openSession(ctx, client)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.client != client || c.pipeOff {
		c.mu.Unlock()
		sess.Close()
		return nil, errors.New("connection changed")
	}
	c.shellStarting = sess
	c.mu.Unlock()
	c.requestAgent(client, sess)
	in, err1 := sess.StdinPipe()
	out, err2 := sess.StdoutPipe()
	errs, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		sess.Close()
		return nil, err
	}
	s := &shell{sess: sess, client: client, in: in, out: &frameStream{r: out}, errs: &frameStream{r: errs}}
	if err := sess.Start("exec sh"); err != nil {
		sess.Close()
		return nil, err
	}
	nonce := newNonce()
	tok := frameMark + nonce + " "
	// Marks need /proc/PID/environ and a grep that takes the stop's
	// options (killScript). The shell survives a command's `kill 0` (its
	// process group is the shell's when the command runs without setsid):
	// a trap, not an ignore, which the command would inherit.
	setup := `command -v setsid >/dev/null || exit 97; trap : HUP INT TERM; _gi_m=0; [ -r /proc/$$/environ ] && { grep -las x /proc/$$/environ >/dev/null 2>&1; [ $? -le 1 ]; } && _gi_m=1; _gi_x=setsid; [ $_gi_m = 1 ] && _gi_x=; ` +
		`printf '\036%s r %s\n' ` + nonce + ` $_gi_m; printf '\036%s r\n' ` + nonce + ` >&2` + "\n"
	if _, err := io.WriteString(in, setup); err != nil {
		s.close()
		return nil, err
	}
	s.setupTok = tok
	return s, nil
}

// settle reads the setup's answer, before the first command's frames:
// whether marks work, and, discarded, what the login shell's startup files
// printed. A shell that ends here never ran a command (no setsid: exit 97).
func (s *shell) settle(tok string, f *frameStream, isOut bool) error {
	field, err := f.until(tok, io.Discard)
	if err != nil {
		return errShellSetup
	}
	if isOut {
		m := marksNo
		if field == "r 1" {
			m = marksYes
		}
		s.marks.Store(m)
	}
	return nil
}

// errShellSetup: the shell ended before it answered its setup (no setsid,
// or a login shell that runs nothing): it will not serve commands.
var errShellSetup = errors.New("the remote sh exited before its setup answered (no setsid?)")

// pipedScript is the line that runs line (a command line as a session
// runs it, see Run) in the shell, framed with nonce (see the top of this
// file). With a guard, the command is one of a sequence (sequence.go): it
// runs only if no command before it failed in a way that skips it, and
// its own failure sets what skips the ones after it.
func pipedScript(line, nonce string, g *seqGuard, setsid string) string {
	run := setsid + `sh -c ` + command.Quote(line) + ` </dev/null; _gi_r=$?
`
	if g != nil {
		fail := `_gi_g=` + g.group
		if g.stops {
			fail += `; _gi_s=` + g.batch
		}
		run = `if [ "$_gi_s" != ` + g.batch + ` ] && [ "$_gi_g" != ` + g.group + ` ]; then
` + run + `case $_gi_r in ` + g.success + `) ;; *) ` + fail + ` ;; esac
printf '\036%s e %s\n' ` + nonce + ` "$_gi_r"
else printf '\036%s k\n' ` + nonce + `
fi
`
	} else {
		run += `printf '\036%s e %s\n' ` + nonce + ` "$_gi_r"
`
	}
	script := run + `printf '\036%s e\n' ` + nonce + ` >&2`
	return "eval " + command.Quote(script) + "\n"
}

// pipedLine is sessionLine for the shell. A command for the default
// shell that escalates nothing runs in the `sh -c` the shell starts for it
// rather than in another one exec'd from there: an exec fewer.
func pipedLine(start, mark string, cmd command.Command, unix command.Unix) string {
	if !unix.Escalates() && (unix.ShellExecutable == "" || unix.ShellExecutable == command.DefaultShell) {
		inner := command.Unix{Env: unix.Env, Chdir: unix.Chdir, ShellExecutable: command.NoShell}.Wrap(cmd)
		return sessionLine(start, mark, inner, false)
	}
	return sessionLine(start, mark, unix.Wrap(cmd), unix.ShellExecutable != command.NoShell || unix.Escalates())
}

// errNotStarted says a piped command never started: it may run in a
// session instead.
var errNotStarted = errors.New("the remote shell ended before the command started")

type pipedResult struct {
	code    int
	started bool
	skipped bool // a command of a sequence that did not run
	err     error
}

// runPiped runs line in s; pid's mark must be line's GOINFRA_RUN and
// pidNonce its PID frame's nonce. It returns errNotStarted when the
// command did not start (the shell had died): the caller runs it in a
// session.
func (c *Conn) runPiped(ctx context.Context, s *shell, line string, pid *pidLine, pidNonce string, opts connector.Options,
	rec *connector.Recorder, out io.Writer, timeout <-chan time.Time, masked string) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	nonce := newNonce()
	outG, errG := &gate{w: out}, &gate{w: rec.Stderr()}
	done := make(chan pipedResult, 1)
	go func() {
		r := c.pipe(s, pipedScript(line, nonce, nil, s.setsid(opts.Unix)), frameMark+nonce+" ", frameMark+pidNonce+" ", pid, outG, errG)
		c.releaseShell(s, r.err)
		done <- r
	}()
	stop := func() {
		outG.close()
		errG.close()
		c.stopRemote(s.client, nil, pid, opts)
		res.Output = rec.Output()
	}
	var r pipedResult
	select {
	case r = <-done:
	case <-timeout:
		stop()
		return res, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
	case <-ctx.Done():
		stop()
		return res, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
	}
	res.Output = rec.Output()
	return c.pipedOutcome(res, r, s.client, pid, opts, masked)
}

// pipedOutcome turns a piped command's frames r into its result and error
// (res carries its output); errNotStarted when it never started.
func (c *Conn) pipedOutcome(res connector.Result, r pipedResult, client *ssh.Client, pid *pidLine,
	opts connector.Options, masked string) (connector.Result, error) {
	switch {
	case r.err != nil && c.lost(client):
		c.stopLater(pid, opts)
		return res, connector.Errorf(c.name(), connector.ErrConnect, "connection lost while the command ran (the next command reconnects)")
	case r.err != nil && !r.started:
		return res, errNotStarted
	case r.err != nil:
		return res, connector.Errorf(c.name(), connector.ErrConnect, "the remote shell ended while the command ran: %w", r.err)
	}
	res.ExitCode = r.code
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.name(), ExitCode: res.ExitCode, Command: masked}
	}
	return res, nil
}

// setsid is what a command with unix runs under in s: setsid where its
// processes cannot be found by their mark, or run as another user (sudo
// resets the environment), so that its process group finds them; nothing
// where marks work; and while that is not known here yet (the setup's
// answer comes with the first command's frames), what the shell's setup
// found ($_gi_x: setsid or nothing).
func (s *shell) setsid(unix command.Unix) string {
	m := s.marks.Load()
	switch {
	case unix.Escalates() || m == marksNo:
		return "setsid "
	case m == marksYes:
		return ""
	}
	return "$_gi_x "
}

// newNonce is 128 random bits in hex.
func newNonce() string { return randomSuffix() + randomSuffix()[:8] }

// startFrames is the start of a command line run in the shell: the
// start frames, on stdout with the PID, which is also the command's
// process group.
func startFrames(nonce string) string {
	return `printf '\036%s p %s\n' ` + nonce + ` "$$"; printf '\036%s s\n' ` + nonce + ` >&2; `
}

// pipe writes script to the shell and reads the command's frames: on
// stdout the start frame (startTok) with the PID, the output, and the end
// frame (tok) with the exit code; on stderr the start frame, the errors
// and the end frame.
func (c *Conn) pipe(s *shell, script, tok, startTok string, pid *pidLine, out, errs io.Writer) pipedResult {
	if _, err := io.WriteString(s.in, script); err != nil {
		return pipedResult{err: err}
	}
	return c.frames(s, tok, startTok, pid, out, errs)
}

// frames reads one command's frames (see pipe); a command of a sequence
// that was skipped has its end frames only, "k" on stdout.
func (c *Conn) frames(s *shell, tok, startTok string, pid *pidLine, out, errs io.Writer) pipedResult {
	stale := &staleLog{c: c}
	setup := s.setupTok
	s.setupTok = ""
	errDone := make(chan error, 1)
	go func() {
		if setup != "" {
			if err := s.settle(setup, s.errs, false); err != nil {
				errDone <- err
				return
			}
		}
		which, f, err := s.errs.untilEither(startTok, tok, stale)
		if err == nil && which == 0 {
			f, err = s.errs.until(tok, errs)
		}
		if err == nil && f != "e" {
			err = fmt.Errorf("unexpected frame %q on stderr", f)
		}
		errDone <- err
	}()
	r := pipedResult{}
	if setup != "" {
		if err := s.settle(setup, s.out, true); err != nil {
			<-errDone
			return pipedResult{err: err}
		}
	}
	which, f, err := s.out.untilEither(startTok, tok, stale)
	if err == nil && which == 0 {
		n, perr := strconv.Atoi(strings.TrimPrefix(f, "p "))
		if !strings.HasPrefix(f, "p ") || perr != nil {
			err = fmt.Errorf("unexpected frame %q on stdout", f)
		} else {
			pid.pid <- n
			r.started = true
			f, err = s.out.until(tok, out)
		}
	}
	if err == nil && which == 1 && f == "k" {
		r.skipped = true
	} else if err == nil {
		// Also without a start frame: the shell ran something (setsid
		// failed), and reports it.
		r.started = true
		code, ok := strings.CutPrefix(f, "e ")
		r.code, err = strconv.Atoi(code)
		if !ok || err != nil {
			err = fmt.Errorf("unexpected frame %q on stdout", f)
		}
	}
	if eerr := <-errDone; err == nil {
		err = eerr
	}
	r.err = err
	return r
}

// staleLog drops, with a debug message, what reaches the shell's output
// between commands: what a finished command's background processes print.
type staleLog struct{ c *Conn }

func (l *staleLog) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.c.host.Logger().Debug("ssh pipelining: output of an earlier command's background processes dropped", "host", l.c.name(), "bytes", len(p))
	}
	return len(p), nil
}
