package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/ptyauth"
)

// ErrSudoPassword marks a host stopped because sudo needed a password
// that was not given, or did not accept the one given. Such errors also
// match connector.ErrAuth.
var ErrSudoPassword = errors.New("sudo password")

// ErrNoPrompt is what a PasswordPrompt returns when it cannot ask (no
// terminal): the host then fails with a message saying how to give the
// password.
var ErrNoPrompt = errors.New("no terminal to ask on")

// PasswordPrompt asks the user for the sudo password. host is the host
// asking, or "" when one answer serves every host of the run.
type PasswordPrompt func(ctx context.Context, host string) (string, error)

// VerifyTimeout bounds the command that checks a sudo password once per
// host and sudo user; a sudo that waits for more input than the password
// must not hang the host.
var VerifyTimeout = 30 * time.Second

// sudoHint says how to give a sudo password, for errors.
const sudoHint = "give it with --sudo-password-prompt, the environment variable GOINFRA_SUDO_PASSWORD " +
	"or the _sudo_password argument (host data or --data)"

// sudoState is what a host has learnt about its sudo: the password the
// user gave when asked, the sudo users it was checked for (or found not
// needed), and the error that stopped escalation on the host.
type sudoState struct {
	password string
	ok       map[string]bool // sudo user → password checked, or none needed
	blocked  error
}

// passwordFor returns the password for the run: asked once for all hosts
// (the first host that needs it asks, the others wait for that answer),
// or per host with Config.SudoPasswordPerHost. Prompts never overlap.
func (r *Run) passwordFor(ctx context.Context, host string) (string, error) {
	if r.cfg.SudoPasswordPrompt == nil {
		return "", ErrNoPrompt
	}
	r.pwMu.Lock()
	defer r.pwMu.Unlock()
	if r.cfg.SudoPasswordPerHost {
		return r.cfg.SudoPasswordPrompt(ctx, host)
	}
	if !r.pwAsked {
		pw, err := r.cfg.SudoPasswordPrompt(ctx, "")
		if err != nil && ctx.Err() != nil {
			// An interrupted prompt is not the run's answer: another
			// host (with a live context) may ask again.
			return "", err
		}
		r.pwAsked, r.pw, r.pwErr = true, pw, err
	}
	return r.pw, r.pwErr
}

// escalationErr builds a host's sudo password error.
func (h *Host) escalationErr(format string, args ...any) error {
	return &connector.Error{Host: h.Name, Class: connector.ErrAuth,
		Err: fmt.Errorf("%w: "+format, append([]any{ErrSudoPassword}, args...)...)}
}

// block stops escalation on h: later sudo commands fail at once with err
// (never another try, so an account with a lock-out policy is not locked),
// and the host drops out of the run.
func (h *Host) block(err error) error {
	h.mu.Lock()
	if h.sudo.blocked == nil {
		h.sudo.blocked = err
	}
	err = h.sudo.blocked
	h.mu.Unlock()
	h.Fail(err)
	return err
}

// escConn gives every connector the same handling of sudo passwords: a
// password is checked once per host and sudo user with a command that has
// nothing but the password on its input (so sudo gets one try), a command
// refused for want of a password is retried once with the password asked
// for, and a host whose password was refused runs no more sudo commands.
// How the password reaches sudo (its standard input, never an argument or
// the environment) is the connector's business.
type escConn struct {
	connector.Conn
	h *Host
}

// Unwrap returns the connector's own Conn.
func (c *escConn) Unwrap() connector.Conn { return c.Conn }

// wrapConn wraps c, keeping its optional capabilities visible.
func wrapConn(h *Host, c connector.Conn) connector.Conn {
	e := &escConn{Conn: c, h: h}
	f, fin := c.(connector.Finisher)
	w, fwd := c.(connector.Forwarder)
	switch {
	case fin && fwd:
		return struct {
			*escConn
			connector.Finisher
			connector.Forwarder
		}{e, f, w}
	case fin:
		return struct {
			*escConn
			connector.Finisher
		}{e, f}
	case fwd:
		return struct {
			*escConn
			connector.Forwarder
		}{e, w}
	}
	return e
}

// prepare fills in the password the host learnt, unless opts give one,
// and checks it; a host whose password was refused gets its error again.
func (c *escConn) prepare(ctx context.Context, opts *connector.Options) error {
	h := c.h
	h.mu.Lock()
	blocked := h.sudo.blocked
	if opts.SudoPassword == "" {
		opts.SudoPassword = h.sudo.password
	}
	h.mu.Unlock()
	if blocked != nil {
		return blocked
	}
	if opts.SudoPassword != "" {
		return c.verify(ctx, *opts)
	}
	return nil
}

// verify checks opts.SudoPassword for opts.SudoUser once per host: a
// `true` run by sudo whose input holds the password and nothing else, so
// a wrong password gets exactly one try and then end-of-file.
func (c *escConn) verify(ctx context.Context, opts connector.Options) error {
	h := c.h
	h.mu.Lock()
	ok := h.sudo.ok[opts.SudoUser]
	h.mu.Unlock()
	if ok {
		return nil
	}
	probe := connector.Options{
		Unix:         command.Unix{Sudo: true, SudoUser: opts.SudoUser, ShellExecutable: command.NoShell},
		SudoPassword: opts.SudoPassword,
		Timeout:      VerifyTimeout,
	}
	res, err := c.Conn.Run(ctx, command.Args("true"), probe)
	switch {
	case err == nil:
		c.sudoOK(opts.SudoUser)
		return nil
	case ctx.Err() != nil:
		return err
	case wrongPassword(res.Stderr()):
		return h.block(h.escalationErr("sudo did not accept the password (one try, not repeated so that the account is not locked)"))
	case errors.Is(err, connector.ErrTimeout):
		return h.block(h.escalationErr("sudo did not answer within %s while checking the password", VerifyTimeout))
	case errors.Is(err, connector.ErrCommand):
		return h.block(h.escalationErr("sudo refused: %s", lastLine(res.Stderr())))
	}
	return err
}

func (c *escConn) sudoOK(user string) {
	c.h.mu.Lock()
	if c.h.sudo.ok == nil {
		c.h.sudo.ok = map[string]bool{}
	}
	c.h.sudo.ok[user] = true
	c.h.mu.Unlock()
}

// ask gets the password after sudo asked for one, checks it and
// remembers it for the host's later commands.
func (c *escConn) ask(ctx context.Context, opts *connector.Options) error {
	h := c.h
	if h.run == nil {
		return h.block(h.escalationErr("sudo needs a password and none was given: %s", sudoHint))
	}
	pw, err := h.run.passwordFor(ctx, h.Name)
	switch {
	case err != nil && ctx.Err() != nil:
		return err
	case errors.Is(err, ErrNoPrompt):
		return h.block(h.escalationErr("sudo needs a password and none was given (no terminal to ask on): %s", sudoHint))
	case err != nil:
		return h.block(h.escalationErr("sudo needs a password and asking for it failed: %v", err))
	case pw == "":
		return h.block(h.escalationErr("sudo needs a password and the answer was empty: %s", sudoHint))
	}
	opts.SudoPassword = pw
	if err := c.verify(ctx, *opts); err != nil {
		return err
	}
	h.mu.Lock()
	h.sudo.password = pw
	h.mu.Unlock()
	return nil
}

// Run implements connector.Conn.
func (c *escConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	fail := connector.Result{ExitCode: -1}
	if !opts.Sudo {
		if err := c.promptedBlocked(opts); err != nil {
			return fail, err
		}
		res, err := c.Conn.Run(ctx, cmd, opts)
		if tool := wantsPassword(opts, res, err); tool != "" {
			return res, c.h.block(&connector.Error{Host: c.h.Name, Class: connector.ErrAuth,
				Err: fmt.Errorf("%s needs a password and none was given: give it with the environment variable GOINFRA_%s_PASSWORD "+
					"or the _%s_password argument (host data or --data)", tool, strings.ToUpper(tool), tool)})
		}
		return res, c.promptedRefused(opts, err)
	}
	if err := c.prepare(ctx, &opts); err != nil {
		return fail, err
	}
	res, err := c.Conn.Run(ctx, cmd, opts)
	if err == nil || opts.SudoPassword != "" || !passwordRequired(res, err) {
		if err == nil && opts.SudoPassword == "" {
			c.sudoOK(opts.SudoUser)
		}
		return res, err
	}
	// sudo -n stopped before the command ran: ask, then run it once more.
	if err := c.ask(ctx, &opts); err != nil {
		return res, err
	}
	if opts.Stdin != nil {
		s, ok := opts.Stdin.(io.Seeker)
		if !ok {
			return res, c.h.escalationErr("sudo needed a password and the command's input cannot be read again; give the password before the run: %s", sudoHint)
		}
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return res, fmt.Errorf("%s: _stdin: %w", c.h.Name, err)
		}
	}
	return c.Conn.Run(ctx, cmd, opts)
}

// transfer readies opts for an escalated upload or download, whose input
// cannot be repeated: whether sudo needs a password is found out first,
// with a `true` run the same way.
func (c *escConn) transfer(ctx context.Context, opts *connector.Options) error {
	if !opts.Sudo {
		return nil
	}
	if err := c.prepare(ctx, opts); err != nil {
		return err
	}
	if opts.SudoPassword != "" {
		return nil
	}
	c.h.mu.Lock()
	ok := c.h.sudo.ok[opts.SudoUser]
	c.h.mu.Unlock()
	if ok {
		return nil
	}
	probe := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: opts.SudoUser, ShellExecutable: command.NoShell}}
	res, err := c.Conn.Run(ctx, command.Args("true"), probe)
	switch {
	case err == nil:
		c.sudoOK(opts.SudoUser)
		return nil
	case passwordRequired(res, err):
		return c.ask(ctx, opts)
	}
	return err
}

// Put implements connector.Conn.
func (c *escConn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if err := c.promptedBlocked(opts); err != nil {
		return err
	}
	if err := c.transfer(ctx, &opts); err != nil {
		return err
	}
	return c.promptedRefused(opts, c.Conn.Put(ctx, r, dst, opts))
}

// Get implements connector.Conn.
func (c *escConn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if err := c.promptedBlocked(opts); err != nil {
		return err
	}
	if err := c.transfer(ctx, &opts); err != nil {
		return err
	}
	return c.promptedRefused(opts, c.Conn.Get(ctx, src, w, opts))
}

// prompted reports whether opts give su or doas a password, which the
// connector types at their terminal prompt.
func prompted(opts connector.Options) bool {
	pw, _ := ptyauth.Password(opts)
	return pw != ""
}

// promptedBlocked returns the error that stopped escalation on the host,
// for a command that would give su or doas a password again.
func (c *escConn) promptedBlocked(opts connector.Options) error {
	if !prompted(opts) {
		return nil
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	return c.h.sudo.blocked
}

// promptedRefused stops escalation on the host when su or doas refused the
// password it was given (an authentication error from the connector): the
// same password is never tried again, so the account is not locked.
func (c *escConn) promptedRefused(opts connector.Options, err error) error {
	if err == nil || !prompted(opts) || !errors.Is(err, connector.ErrAuth) {
		return err
	}
	return c.h.block(err)
}

// wantsPassword names the tool (su or doas) that refused a command
// because it wanted a password and was given none, or returns "".
func wantsPassword(opts connector.Options, res connector.Result, err error) string {
	if !errors.Is(err, connector.ErrCommand) || res.ExitCode != 1 {
		return ""
	}
	msg := res.Stderr()
	switch {
	case opts.Doas && opts.DoasPassword == "" &&
		(strings.Contains(msg, "doas: Authentication required") || strings.Contains(msg, "doas: Authorization required")):
		return "doas"
	case !opts.Doas && opts.SuUser != "" && opts.SuPassword == "" &&
		(strings.Contains(msg, "su: Authentication failure") || strings.Contains(msg, "must be run from a terminal")):
		return "su"
	}
	return ""
}

// passwordRequired reports whether a command failed because sudo -n
// wanted a password ("sudo: a password is required").
func passwordRequired(res connector.Result, err error) bool {
	return errors.Is(err, connector.ErrCommand) && res.ExitCode == 1 &&
		strings.Contains(res.Stderr(), "a password is required")
}

// wrongPassword reports whether sudo's messages say the password was
// refused (sudo 1.8/1.9 wordings, also with -p ”).
func wrongPassword(stderr string) bool {
	for _, s := range []string{"incorrect password", "Sorry, try again", "no password was provided", "Authentication failure"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
