// Package escalate is goinfra's privilege escalation, written once for
// every connector: a decorator over any connector.Conn that gives sudo its
// password on standard input (sudo -S), types su and doas passwords at
// their terminal prompt, applies the password policy (asked once for all
// hosts or per host, tried once, then escalation stops on the host), and
// moves files as the escalated user (staged as the login user, then one
// escalated install).
//
// Connectors only transport: they render the options they are given with
// command.Unix.Wrap and never see a password. Connectors that switch users
// themselves (connector.UserSwitcher: docker, chroot, external programs)
// get their options untouched.
//
// Whether sudo wants a password is found out once per host and sudo user
// and kept for the connection's life: by the first sudo command itself
// (sudo -n; run again with the password when sudo refused for want of
// one), or, when a password is given or the command's input cannot be read
// twice, by a `sudo -n true` first.
package escalate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// ErrSudoPassword marks a host stopped because sudo needed a password
// that was not given, or did not accept the one given. Such errors also
// match connector.ErrAuth.
var ErrSudoPassword = errors.New("sudo password")

// VerifyTimeout bounds the command that checks a sudo password once per
// host and sudo user; a sudo that waits for more input than the password
// must not hang the host.
var VerifyTimeout = 30 * time.Second

// AuthTimeout bounds how long su or doas may take to accept a password
// before the command is stopped: a tool that waits for more than the one
// answer must not hang the host.
var AuthTimeout = 60 * time.Second

// StopTimeout bounds an escalated stop (the kill of a timed-out command
// run as another user).
var StopTimeout = 20 * time.Second

// Config is how a Conn escalates.
type Config struct {
	// Host names the host in errors.
	Host string
	// Passwords asks for the sudo password when sudo wants one that was
	// not given; shared by the hosts of a run. Nil: never ask.
	Passwords *Asker
	// OnBlocked, when set, is told once when escalation stops on the host
	// (a refused or missing password): the engine fails the host, also
	// when the command's own error is ignored.
	OnBlocked func(error)
}

// Conn is a connector.Conn with escalation. Its methods may be called
// concurrently when the wrapped Conn allows it.
type Conn struct {
	conn connector.Conn
	cfg  Config

	mu       sync.Mutex
	sudo     map[string]*sudoState // by sudo user
	password string                // learnt by asking
	blocked  error
}

// sudoState is what the host's sudo is known to want for one sudo user.
type sudoState struct {
	mu       sync.Mutex // held while probing or checking the password
	probed   bool
	needsPw  bool
	verified bool
}

// Wrap returns c with escalation. A Conn that already is an escalation
// layer is returned as is.
func Wrap(c connector.Conn, cfg Config) *Conn {
	if e, ok := c.(*Conn); ok {
		return e
	}
	return &Conn{conn: c, cfg: cfg}
}

var (
	_ connector.Conn    = (*Conn)(nil)
	_ connector.Wrapper = (*Conn)(nil)
)

// Unwrap returns the connector's own Conn (see connector.As).
func (c *Conn) Unwrap() connector.Conn { return c.conn }

// Connect implements connector.Conn.
func (c *Conn) Connect(ctx context.Context) error { return c.conn.Connect(ctx) }

// Close implements connector.Conn.
func (c *Conn) Close() error { return c.conn.Close() }

// native reports whether the connector switches users itself.
func (c *Conn) native() bool {
	_, ok := connector.As[connector.UserSwitcher](c.conn)
	return ok
}

// withoutSecrets returns opts without secrets: what a transporting connector sees.
func withoutSecrets(opts connector.Options) connector.Options {
	opts.SudoPassword, opts.SuPassword, opts.DoasPassword = "", "", ""
	return opts
}

// Run implements connector.Conn.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	fail := connector.Result{ExitCode: -1}
	if c.native() {
		return c.conn.Run(ctx, cmd, opts)
	}
	if err := opts.Unix.Validate(); err != nil {
		return fail, connector.Errorf(c.cfg.Host, connector.ErrCommand, "%w", err)
	}
	switch pw, tool := promptPassword(&opts); {
	case opts.Sudo:
		return c.runSudo(ctx, cmd, opts)
	case pw != "":
		if err := c.blockedErr(); err != nil {
			return fail, err
		}
		res, err := c.runPrompted(ctx, cmd, opts, pw, tool)
		if err != nil && errors.Is(err, connector.ErrAuth) {
			// su or doas refused the password: never try it again, so
			// an account with a lock-out policy is not locked.
			return res, c.block(err)
		}
		return res, err
	}
	// opts itself becomes what the connector gets (withoutSecrets, then
	// withKill), not copies of it: this frame is on every command's path
	// down to the connector, where a host's goroutine waits while the
	// command runs, and each 320-byte copy made its stack larger.
	// wantsPassword reads no password this path can hold (a given su or
	// doas password went to runPrompted above).
	opts.SudoPassword, opts.SuPassword, opts.DoasPassword = "", "", ""
	c.addKill(&opts)
	res, err := c.conn.Run(ctx, cmd, opts)
	if tool := wantsPassword(opts, res, err); tool != "" {
		return res, c.block(connector.Errorf(c.cfg.Host, connector.ErrAuth,
			"%s needs a password and none was given: give it with the environment variable GOINFRA_%s_PASSWORD "+
				"or the _%s_password argument (host data or --data)", tool, strings.ToUpper(tool), tool))
	}
	return res, err
}

// withKill lets the connector stop an escalated command as the user it
// runs as (see connector.Options.Kill).
func (c *Conn) withKill(opts connector.Options) connector.Options {
	c.addKill(&opts)
	return opts
}

// addKill is withKill in place.
func (c *Conn) addKill(opts *connector.Options) {
	if !opts.Escalates() {
		return
	}
	esc := opts.Unix.Escalation()
	esc.SudoStdin = false
	pw := *opts
	opts.Kill = func(ctx context.Context, kill command.Command) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
		defer cancel()
		k := connector.Options{Unix: esc, SudoPassword: pw.SudoPassword, SuPassword: pw.SuPassword,
			DoasPassword: pw.DoasPassword, Timeout: StopTimeout}
		k.ShellExecutable = command.DefaultShell
		_, err := c.run(ctx, kill, k, true)
		return err
	}
}

// run is Run for the layer's own helper commands; noKill keeps a stop from
// starting another escalated stop.
func (c *Conn) run(ctx context.Context, cmd command.Command, opts connector.Options, noKill bool) (connector.Result, error) {
	if !noKill {
		return c.Run(ctx, cmd, opts)
	}
	if pw, tool := promptPassword(&opts); pw != "" && !opts.Sudo {
		return c.runPrompted(ctx, cmd, opts, pw, tool)
	}
	if opts.Sudo {
		need, err := c.needsPassword(ctx, opts.SudoUser)
		if err != nil {
			return connector.Result{ExitCode: -1}, err
		}
		if need {
			pw := c.sudoPassword(opts)
			if pw == "" {
				return connector.Result{ExitCode: -1}, c.errorf("sudo needs a password to stop the command")
			}
			opts = feedSudo(opts, pw)
		}
	}
	return c.conn.Run(ctx, cmd, withoutSecrets(opts))
}

// blockedErr is the error that stopped escalation on the host, if any.
func (c *Conn) blockedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked
}

// block stops escalation on the host: later escalated commands fail at
// once with err (never another try, so an account with a lock-out policy
// is not locked).
func (c *Conn) block(err error) error {
	c.mu.Lock()
	first := c.blocked == nil
	if first {
		c.blocked = err
	}
	err = c.blocked
	c.mu.Unlock()
	if first && c.cfg.OnBlocked != nil {
		c.cfg.OnBlocked(err)
	}
	return err
}

// errorf builds a host's sudo password error.
func (c *Conn) errorf(format string, args ...any) error {
	return &connector.Error{Host: c.cfg.Host, Class: connector.ErrAuth,
		Err: fmt.Errorf("%w: "+format, append([]any{ErrSudoPassword}, args...)...)}
}

// sudoPassword is the password for opts: given, else learnt by asking.
func (c *Conn) sudoPassword(opts connector.Options) string {
	if opts.SudoPassword != "" {
		return opts.SudoPassword
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.password
}

// feedSudo makes sudo read pw from the command's standard input (sudo -S
// reads one line, byte by byte; the rest of the input stays for the
// command): the password is never an argument or in an environment.
func feedSudo(opts connector.Options, pw string) connector.Options {
	opts.SudoStdin = true
	in := opts.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	opts.Stdin = io.MultiReader(strings.NewReader(pw+"\n"), in)
	return opts
}

func (c *Conn) state(user string) *sudoState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sudo == nil {
		c.sudo = map[string]*sudoState{}
	}
	s, ok := c.sudo[user]
	if !ok {
		s = &sudoState{}
		c.sudo[user] = s
	}
	return s
}

// rereadable reports whether a command's input can be given to it a
// second time (none, or a reader that seeks), so that the command can be
// its own probe.
func rereadable(r io.Reader) bool {
	if r == nil {
		return true
	}
	_, ok := r.(io.Seeker)
	return ok
}

func (c *Conn) probed(user string) bool {
	s := c.state(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probed
}

func (c *Conn) setProbed(user string, needsPw bool) {
	s := c.state(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probed, s.needsPw = true, needsPw
}

// needsPassword probes once per sudo user whether sudo wants a password;
// a probe that could not run (lost connection) is tried again next time.
func (c *Conn) needsPassword(ctx context.Context, user string) (bool, error) {
	s := c.state(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probed {
		return s.needsPw, nil
	}
	probe := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: user, ShellExecutable: command.NoShell}, Timeout: VerifyTimeout}
	res, err := c.conn.Run(ctx, command.Args("true"), probe)
	switch {
	case err == nil:
	case passwordRequired(res, err):
		s.needsPw = true
	case errors.Is(err, connector.ErrCommand):
		// sudo refuses for another reason (not in sudoers, not
		// installed): the command itself will say so.
	default:
		return false, err
	}
	s.probed = true
	return s.needsPw, nil
}

// runSudo runs a sudo command: with its password on standard input when
// sudo wants one (given, or asked for once), checked once per sudo user.
func (c *Conn) runSudo(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	fail := connector.Result{ExitCode: -1}
	if err := c.blockedErr(); err != nil {
		return fail, err
	}
	if c.sudoPassword(opts) == "" && !c.probed(opts.SudoUser) && rereadable(opts.Stdin) {
		// No password known: the command itself is the probe (sudo -n),
		// which costs nothing where sudo wants none, the usual case. When
		// it wants one, the command did not run: ask, then run it again.
		res, err := c.conn.Run(ctx, cmd, c.withKill(withoutSecrets(opts)))
		if !passwordRequired(res, err) {
			if err == nil {
				c.setProbed(opts.SudoUser, false)
			}
			return res, err
		}
		c.setProbed(opts.SudoUser, true)
		if s, ok := opts.Stdin.(io.Seeker); ok {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return fail, fmt.Errorf("%s: _stdin: %w", c.cfg.Host, err)
			}
		}
	}
	need, err := c.needsPassword(ctx, opts.SudoUser)
	if err != nil {
		return fail, err
	}
	if !need {
		return c.conn.Run(ctx, cmd, c.withKill(withoutSecrets(opts)))
	}
	pw, err := c.passwordFor(ctx, opts)
	if err != nil {
		return fail, err
	}
	opts.SudoPassword = pw
	return c.conn.Run(ctx, cmd, withoutSecrets(c.withKill(feedSudo(opts, pw))))
}

// passwordFor returns the checked sudo password for opts: given, learnt
// or asked for now.
func (c *Conn) passwordFor(ctx context.Context, opts connector.Options) (string, error) {
	pw := c.sudoPassword(opts)
	asked := false
	if pw == "" {
		var err error
		if pw, err = c.ask(ctx); err != nil {
			return "", err
		}
		asked = true
	}
	if err := c.verify(ctx, opts.SudoUser, pw); err != nil {
		return "", err
	}
	if asked {
		c.mu.Lock()
		c.password = pw
		c.mu.Unlock()
	}
	return pw, nil
}

// ask gets the password from the run's Asker.
func (c *Conn) ask(ctx context.Context) (string, error) {
	if c.cfg.Passwords == nil {
		return "", c.block(c.errorf("sudo needs a password and none was given: %s", sudoHint))
	}
	pw, err := c.cfg.Passwords.password(ctx, c.cfg.Host)
	switch {
	case err != nil && ctx.Err() != nil:
		return "", err
	case errors.Is(err, ErrNoPrompt):
		return "", c.block(c.errorf("sudo needs a password and none was given (no terminal to ask on): %s", sudoHint))
	case err != nil:
		return "", c.block(c.errorf("sudo needs a password and asking for it failed: %v", err))
	case pw == "":
		return "", c.block(c.errorf("sudo needs a password and the answer was empty: %s", sudoHint))
	}
	return pw, nil
}

// verify checks pw for a sudo user once per host: a `true` run by sudo
// whose input holds the password and nothing else, so a wrong password
// gets exactly one try and then end-of-file.
func (c *Conn) verify(ctx context.Context, user, pw string) error {
	s := c.state(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified {
		return nil
	}
	probe := feedSudo(connector.Options{Unix: command.Unix{Sudo: true, SudoUser: user, ShellExecutable: command.NoShell},
		Timeout: VerifyTimeout}, pw)
	res, err := c.conn.Run(ctx, command.Args("true"), probe)
	switch {
	case err == nil:
		s.verified = true
		return nil
	case ctx.Err() != nil:
		return err
	case wrongPassword(res.Stderr()):
		return c.block(c.errorf("sudo did not accept the password (one try, not repeated so that the account is not locked)"))
	case errors.Is(err, connector.ErrTimeout):
		return c.block(c.errorf("sudo did not answer within %s while checking the password", VerifyTimeout))
	case errors.Is(err, connector.ErrCommand):
		return c.block(c.errorf("sudo refused: %s", lastLine(res.Stderr())))
	}
	return err
}
