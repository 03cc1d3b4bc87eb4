package escalate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// started is when this process started: staging directories older than
// that belong to no upload still running from here.
var started = time.Now()

// CleanupTimeout bounds the removal of an escalated upload's staging
// directory, which runs also when the upload was cancelled.
var CleanupTimeout = 30 * time.Second

// Put implements connector.Conn. Without escalation it is the connector's
// Put. With sudo, su or doas the content is staged as the login user in a
// directory of its own that others may enter but not list (0711), under a
// random name, readable by the escalated user; then one escalated command
// (command.InstallScript) copies it beside dst, gives it the replaced
// file's owner and mode and renames it into place; the staging directory
// is removed on every path.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if c.native() {
		return c.conn.Put(ctx, r, dst, opts)
	}
	if !opts.Escalates() {
		return c.conn.Put(ctx, r, dst, withoutSecrets(opts))
	}
	if err := c.blockedErr(); err != nil {
		return err
	}
	if err := c.ready(ctx, opts); err != nil {
		return err
	}
	login := connector.Options{}
	// Staging directories an earlier run could not remove (its connection
	// was cut) go first: goinfra's naming, the login user's, older than
	// this run.
	stale := fmt.Sprintf(`find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name '.goinfra-??????????' -user "$(id -u)" -mmin +%d -exec rm -rf {} + 2>/dev/null; `,
		int(time.Since(started).Minutes())+1)
	res, err := c.conn.Run(ctx, command.Shell(stale+`umask 077 && d=$(mktemp -d "${TMPDIR:-/tmp}/.goinfra-XXXXXXXXXX") && chmod 0711 "$d" && echo "$d"`), login)
	if err != nil {
		return c.transferErr("upload %s (staging as the login user): %s", dst, errText(res, err))
	}
	dir := strings.TrimSpace(res.Stdout())
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "\n") {
		return c.transferErr("upload %s (staging as the login user): mktemp printed %q", dst, dir)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
		defer cancel()
		_, _ = c.conn.Run(cctx, command.New("rm", "-rf", "--", command.Quoted(dir)), login)
	}()
	staged := dir + "/" + randomName()
	if err := c.conn.Put(ctx, r, staged, login); err != nil {
		return c.transferErr("upload %s (staging as the login user): %w", dst, innerErr(err))
	}
	if opts.Unix.User() != "root" {
		// Root reads it anyway; another user needs it readable.
		if res, err := c.conn.Run(ctx, command.New("chmod", "0644", command.Quoted(staged)), login); err != nil {
			return c.transferErr("upload %s (staging as the login user): %s", dst, errText(res, err))
		}
	}
	install := transferOptions(opts)
	install.Unix = opts.Unix.Escalation()
	install.ShellExecutable = command.NoShell
	if res, err := c.Run(ctx, command.Install(staged, dst), install); err != nil {
		if errors.Is(err, ErrSudoPassword) || errors.Is(err, connector.ErrAuth) {
			return err
		}
		return c.transferErr("upload %s as %s: %s", dst, opts.Unix.User(), errText(res, err))
	}
	return nil
}

// Get implements connector.Conn. With sudo, su or doas the file is read by
// the escalated user with cat, its bytes streamed to w (no copy of it is
// made on the host).
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if c.native() {
		return c.conn.Get(ctx, src, w, opts)
	}
	if !opts.Escalates() {
		return c.conn.Get(ctx, src, w, withoutSecrets(opts))
	}
	if err := c.blockedErr(); err != nil {
		return err
	}
	if err := c.ready(ctx, opts); err != nil {
		return err
	}
	o := transferOptions(opts)
	o.Unix = opts.Unix.Escalation()
	o.ShellExecutable = command.NoShell
	o.Stdout = w
	if res, err := c.Run(ctx, command.New("cat", "--", command.Quoted(src)), o); err != nil {
		if errors.Is(err, ErrSudoPassword) || errors.Is(err, connector.ErrAuth) {
			return err
		}
		return c.transferErr("download %s as %s: %s", src, opts.Unix.User(), errText(res, err))
	}
	return nil
}

// ready finds out before a transfer, whose input cannot be repeated,
// whether sudo wants a password, and gets it.
func (c *Conn) ready(ctx context.Context, opts connector.Options) error {
	if !opts.Sudo {
		return nil
	}
	need, err := c.needsPassword(ctx, opts.SudoUser)
	if err != nil || !need {
		return err
	}
	_, err = c.passwordFor(ctx, opts)
	return err
}

// transferOptions are opts for a transfer's escalated helper command: no
// terminal (it would mangle binary data), no output callbacks, no input.
// The secrets stay: the layer's Run consumes them.
func transferOptions(opts connector.Options) connector.Options {
	opts.Chdir = ""
	opts.Env = nil
	opts.PTY = false
	opts.OnLine = nil
	opts.OnCommand = nil
	opts.SuccessExitCodes = nil
	opts.Stdin = nil
	return opts
}

func (c *Conn) transferErr(format string, args ...any) error {
	return connector.Errorf(c.cfg.Host, connector.ErrTransfer, format, args...)
}

// errText is a helper command's failure: its error and what it said.
func errText(res connector.Result, err error) string {
	msg := err.Error()
	var ce *connector.Error
	if errors.As(err, &ce) {
		msg = ce.Err.Error()
	}
	if s := strings.TrimSpace(res.Stderr()); s != "" {
		return msg + ": " + s
	}
	return msg
}

// innerErr strips the host and class of a connector error, for wrapping it
// again with the path the user gave.
func innerErr(err error) error {
	var ce *connector.Error
	if errors.As(err, &ce) && ce.Class == connector.ErrTransfer {
		return ce.Err
	}
	return err
}

func randomName() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
