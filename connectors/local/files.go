package local

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/ptyauth"
)

// escalationStdin prepares the command's standard input. A sudo password
// travels on stdin (sudo -S), never on a command line or in the
// environment; it is sent only when sudo asks for one, found out first with
// `sudo -n true`: a sudo that does not read it would pass it to the command.
func (c *Conn) escalationStdin(ctx context.Context, opts *connector.Options) (io.Reader, error) {
	if !opts.Sudo || opts.SudoPassword == "" || opts.SudoAskpass != "" || opts.SudoStdin {
		return opts.Stdin, nil
	}
	probe := []string{"-n"}
	if opts.SudoUser != "" {
		probe = append(probe, "-u", opts.SudoUser)
	}
	if exec.CommandContext(ctx, "sudo", append(probe, "true")...).Run() == nil {
		return opts.Stdin, nil
	}
	opts.SudoStdin = true
	in := opts.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	return io.MultiReader(strings.NewReader(opts.SudoPassword+"\n"), in), nil
}

// who names the user a transfer runs as, for error messages.
func who(u command.Unix) string {
	switch {
	case u.SuUser != "":
		return "su " + u.SuUser
	case u.Sudo && u.SudoUser != "":
		return "sudo -u " + u.SudoUser
	case u.Sudo:
		return "sudo"
	case u.Doas && u.DoasUser != "":
		return "doas -u " + u.DoasUser
	case u.Doas:
		return "doas"
	}
	return "login user"
}

// transferOptions are opts for the helper commands of an escalated
// transfer: no terminal (it would mangle binary data), no output callbacks.
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

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

var umask = sync.OnceValue(func() os.FileMode {
	// /proc tells the umask without changing it (syscall.Umask would,
	// racing with other goroutines creating files).
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	return 0o022
})

// Put writes r to dst atomically: into a temporary file in dst's
// directory, renamed over dst once complete. A replaced file keeps its mode
// (and owner, where allowed); a new file gets 0666 minus the umask. With
// sudo, su or doas the file is written as that user.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if opts.Unix.Escalates() {
		return c.putEscalated(ctx, r, dst, opts)
	}
	if err := putFile(ctx, r, dst); err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "put %s: %w", dst, err)
	}
	return nil
}

func putFile(ctx context.Context, r io.Reader, dst string) (err error) {
	target := dst
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// Write through a symlink, as cp does, rather than replace it.
		if target, err = filepath.EvalSymlinks(dst); err != nil {
			return err
		}
	}
	perm := 0o666 &^ umask()
	var old *syscall.Stat_t
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("not a regular file")
		}
		perm = fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		old, _ = fi.Sys().(*syscall.Stat_t)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".goinfra-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("reading the source: %w", err)
	}
	if old != nil && (int(old.Uid) != os.Geteuid() || int(old.Gid) != os.Getegid()) {
		// Only root may give a file away; others keep their own.
		if err := tmp.Chown(int(old.Uid), int(old.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
			return err
		}
	}
	// After chown, which clears set-id bits.
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// putScript runs as the escalated user with the staged content on stdin:
// it writes a temporary file beside the destination, gives it the replaced
// file's owner and mode (a new file: the user's umask), and renames it. The
// temporary file is removed on every path.
const putScript = `d=%s; f=%s
t=$(mktemp "$d/.%s.goinfra-XXXXXX") || exit 1
trap 'rm -f "$t"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$t" || exit 1
if [ -e "$f" ]; then
  chown "$(stat -c %%u:%%g "$f")" "$t" 2>/dev/null
  chmod "$(stat -c %%a "$f")" "$t" || exit 1
else
  chmod "$(printf %%o $((0666 & ~$(umask))))" "$t" || exit 1
fi
mv -f "$t" "$f"`

func (c *Conn) putEscalated(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	fail := func(format string, args ...any) error {
		return connector.Errorf(c.name(), connector.ErrTransfer, "put %s as %s: "+format, append([]any{dst, who(opts.Unix)}, args...)...)
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fail("%w", err)
	}
	// Stage the whole content as the login user first: a source that fails
	// half-way never reaches the destination's directory.
	stage, err := os.CreateTemp("", "goinfra-put-*")
	if err != nil {
		return fail("staging: %w", err)
	}
	defer func() {
		stage.Close()
		os.Remove(stage.Name())
	}()
	if _, err := io.Copy(stage, ctxReader{ctx, r}); err != nil {
		return fail("reading the source: %w", err)
	}
	if _, err := stage.Seek(0, io.SeekStart); err != nil {
		return fail("staging: %w", err)
	}
	dir, base := filepath.Split(abs)
	// The staged file reaches the escalated command as its stdin, opened by
	// the login user: the file itself stays readable by nobody else.
	script := fmt.Sprintf(putScript, command.Quote(filepath.Clean(dir)), command.Quote(abs), escapeTemplate(base))
	topts := transferOptions(opts)
	topts.Stdin = stage
	if pw, _ := ptyauth.Password(opts); pw != "" {
		// su and doas get a terminal, not a binary-safe input: the
		// escalated user reads a staged copy instead.
		staged, cleanup, err := stageFor(stage, opts)
		if err != nil {
			return fail("staging: %w", err)
		}
		defer cleanup()
		script = "exec <" + command.Quote(staged) + "\n" + script
		topts.Stdin = nil
	}
	_, stderr, err := c.run(ctx, command.Shell(script), topts, runCfg{})
	if err != nil {
		if stderr != "" {
			return fail("%s", stderr)
		}
		return fail("%w", err)
	}
	return nil
}

// stageFor copies the staged content where the escalated user can read
// it: a file under a random name in a directory of the login user's that
// others may enter but not list (0711); the file is readable by others only
// when the escalated user is not root. cleanup removes both.
func stageFor(src *os.File, opts connector.Options) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", ".goinfra-stage-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if err = os.Chmod(dir, 0o711); err != nil {
		return "", nil, err
	}
	mode := os.FileMode(0o644)
	if runAsRoot(opts.Unix) {
		mode = 0o600
	}
	path = filepath.Join(dir, randomName())
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return "", nil, err
	}
	if _, err = io.Copy(f, src); err != nil {
		f.Close()
		return "", nil, err
	}
	if err = f.Chmod(mode); err != nil {
		f.Close()
		return "", nil, err
	}
	return path, cleanup, f.Close()
}

// runAsRoot reports whether the escalation switches to root.
func runAsRoot(u command.Unix) bool {
	switch {
	case u.SuUser != "":
		return u.SuUser == "root"
	case u.Sudo:
		return u.SudoUser == "" || u.SudoUser == "root"
	case u.Doas:
		return u.DoasUser == "" || u.DoasUser == "root"
	}
	return false
}

func randomName() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// escapeTemplate makes base safe inside the double-quoted mktemp template
// of putScript: only letters, digits and a few marks are kept.
func escapeTemplate(base string) string {
	var b strings.Builder
	for _, r := range base {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+,@", r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() > 64 {
		return b.String()[:64]
	}
	return b.String()
}

// Get copies src into w, byte for byte. With sudo, su or doas the file is
// read as that user: its bytes come back on the escalated command's stdout,
// so no readable copy is ever made.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if opts.Unix.Escalates() {
		cmd := command.New("cat", "--", command.Quoted(src))
		_, stderr, err := c.run(ctx, cmd, transferOptions(opts), runCfg{stdout: w})
		if err != nil {
			if stderr != "" {
				return connector.Errorf(c.name(), connector.ErrTransfer, "get %s as %s: %s", src, who(opts.Unix), stderr)
			}
			return connector.Errorf(c.name(), connector.ErrTransfer, "get %s as %s: %w", src, who(opts.Unix), err)
		}
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: %w", src, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: not a regular file", src)
	}
	if _, err := io.Copy(w, ctxReader{ctx, f}); err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: %w", src, err)
	}
	return nil
}
