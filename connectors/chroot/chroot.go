//go:build linux

package chroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/procgroup"
)

// waitDelay bounds how long Run waits for output pipes held open by
// processes the command left running after it exited or was killed.
const waitDelay = 2 * time.Second

// defaultPath is the PATH commands see inside the chroot; the host's PATH
// means nothing there.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Description implements connector.Describer.
func (Driver) Description() string {
	return "a directory tree entered with chroot (needs root)"
}

// Open implements connector.Opener.
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	dir := h.Data.String(DirectoryKey)
	if dir == "" {
		if arg, ok := strings.CutPrefix(h.Name, "@chroot/"); ok && arg != "" {
			dir = dirFromArg(arg)
		}
	}
	if dir == "" {
		return nil, connector.Errorf(h.Name, connector.ErrConnect, "no %s: name the directory (@chroot/<dir>)", DirectoryKey)
	}
	if !path.IsAbs(dir) {
		return nil, connector.Errorf(h.Name, connector.ErrConnect, "%s %q must be an absolute path", DirectoryKey, dir)
	}
	return &Conn{host: h, dir: path.Clean(dir)}, nil
}

// Conn is a connection to a chroot directory. Run, Put and Get may be
// called concurrently once connected.
type Conn struct {
	host *connector.Host
	dir  string

	connectMu sync.Mutex // serializes Connect
	mu        sync.Mutex // guards rootFD and open
	rootFD    int        // O_PATH descriptor of dir; -1 when not connected
	open      bool
}

// Dir is the chroot directory on the host.
func (c *Conn) Dir() string { return c.dir }

func (c *Conn) errorf(class error, format string, args ...any) error {
	return connector.Errorf(c.host.Name, class, format, args...)
}

// Connect checks that goinfra runs as root and that the directory can be
// used as a chroot: it exists, is a directory and runs /bin/sh. The
// directory stays open until Close, so file operations keep working on the
// same tree.
func (c *Conn) Connect(ctx context.Context) error {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	if c.connected() {
		return nil
	}
	if uid := os.Geteuid(); uid != 0 {
		return c.errorf(connector.ErrConnect, "the chroot connector needs root (goinfra runs as uid %d): run it as root, e.g. with sudo", uid)
	}
	fi, err := os.Stat(c.dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c.errorf(connector.ErrConnect, "chroot directory %s does not exist", c.dir)
	case err != nil:
		return c.errorf(connector.ErrConnect, "chroot directory %s: %w", c.dir, err)
	case !fi.IsDir():
		return c.errorf(connector.ErrConnect, "chroot directory %s is not a directory", c.dir)
	}
	fd, err := unix.Open(c.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return c.errorf(connector.ErrConnect, "open chroot directory %s: %w", c.dir, err)
	}
	c.mu.Lock()
	c.rootFD, c.open = fd, true
	c.mu.Unlock()
	if err := c.probe(ctx); err != nil {
		c.Close()
		return err
	}
	return nil
}

func (c *Conn) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// probe runs `sh -c :` in the chroot: a directory with a shell that cannot
// start (a missing loader or library) is found now, not at the first command.
func (c *Conn) probe(ctx context.Context) error {
	sh, err := c.lookPath(DefaultShellPath)
	if err != nil {
		return c.errorf(connector.ErrConnect, "%s does not work as a chroot: no shell: %w", c.dir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-c", ":")
	cmd.Path = sh
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + defaultPath}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: c.dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg != "" {
			msg = ": " + msg
		}
		return c.errorf(connector.ErrConnect, "%s does not work as a chroot: running %s in it failed: %w%s", c.dir, sh, err, msg)
	}
	return nil
}

// DefaultShellPath is the shell Connect checks for.
const DefaultShellPath = "/bin/sh"

// Close releases the directory.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return nil
	}
	c.open = false
	return unix.Close(c.rootFD)
}

// root returns the directory descriptor, or ErrNotConnected.
func (c *Conn) root() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return -1, c.errorf(connector.ErrNotConnected, "chroot %s: Connect first", c.dir)
	}
	return c.rootFD, nil
}

// Run implements connector.Conn. The command runs chrooted as
// `<shell> -c <command>`; a privilege switch becomes the process's
// credentials (the chroot's user), not a sudo or su inside the tree.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	if _, err := c.root(); err != nil {
		return res, err
	}
	if err := opts.Unix.Validate(); err != nil {
		return res, c.errorf(connector.ErrCommand, "%w", err)
	}
	u, err := c.lookupUser(runAs(opts.Unix))
	if err != nil {
		return res, err
	}

	// Everything but the privilege switch is done by the shell; the switch
	// is done by the kernel when the process starts.
	plain := opts.Unix
	plain.Sudo, plain.SudoUser, plain.SuUser, plain.Doas, plain.DoasUser = false, "", "", false, ""
	shown := plain.Wrap(cmd)
	if opts.OnCommand != nil {
		opts.OnCommand(shown.String())
	}
	inner := plain
	inner.ShellExecutable = command.NoShell
	argv, err := c.argv(plain.ShellExecutable, inner.Wrap(cmd).Raw())
	if err != nil {
		return res, err
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if opts.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
	}
	defer cancel()

	rec := connector.NewRecorderFor(opts, c.host.Logger())
	p := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	p.Path = argv[0] // resolved inside the chroot: no lookup on the host's PATH
	p.Env = u.env(opts.Unix)
	p.Dir = "/"
	if (opts.UseSudoLogin && opts.Sudo) || (opts.UseSuLogin && opts.SuUser != "") {
		p.Dir = c.existingDir(u.home, "/")
	}
	attr := &syscall.SysProcAttr{Chroot: c.dir, Setpgid: true}
	if u.uid != 0 || u.gid != 0 || len(u.groups) > 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: u.groups}
	}
	p.SysProcAttr = attr
	p.WaitDelay = waitDelay
	// Kill the whole process group: a timeout must also stop what the
	// command started.
	p.Cancel = func() error { return syscall.Kill(-p.Process.Pid, syscall.SIGKILL) }

	var ptyMaster *os.File
	if opts.PTY {
		master, slave, err := openPTY()
		if err != nil {
			return res, c.errorf(connector.ErrCommand, "allocate a pseudo-terminal: %w", err)
		}
		defer master.Close()
		ptyMaster = master
		p.Stdin, p.Stdout, p.Stderr = slave, slave, slave
		attr.Setpgid = false
		attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0
		defer slave.Close()
	} else {
		p.Stdin = opts.Stdin
		p.Stdout, p.Stderr = rec.Stdout(), rec.Stderr()
	}

	start := time.Now()
	if err := p.Start(); err != nil {
		return res, c.errorf(connector.ErrCommand, "start %s in chroot %s: %w", argv[0], c.dir, err)
	}
	var copied sync.WaitGroup
	if ptyMaster != nil {
		// The child holds the terminal now; our copy of the slave must go so
		// that reading the master ends when the child does.
		p.Stdin.(*os.File).Close()
		copied.Add(1)
		go func() {
			defer copied.Done()
			io.Copy(rec.Stdout(), ptyMaster) // ends with EIO once the child is gone
		}()
		if opts.Stdin != nil {
			go io.Copy(ptyMaster, opts.Stdin)
		}
	}
	werr := p.Wait()
	copied.Wait()
	res.Duration = time.Since(start)
	res.Output = rec.Output()
	res.ExitCode = procgroup.ExitCode(p.ProcessState)

	if opts.Timeout > 0 && errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		res.ExitCode = -1
		return res, &connector.TimeoutError{Host: c.host.Name, Limit: opts.Timeout}
	}
	if ctx.Err() != nil {
		res.ExitCode = -1
		return res, c.errorf(connector.ErrCommand, "command stopped: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) && !errors.Is(werr, exec.ErrWaitDelay) {
		return res, c.errorf(connector.ErrCommand, "wait for command: %w", werr)
	}
	if !opts.Succeeded(res.ExitCode) {
		return res, &connector.CommandError{Host: c.host.Name, ExitCode: res.ExitCode, Command: shown.String()}
	}
	return res, nil
}

// runAs is the user a privilege switch ends as (command.Unix.User), "" for
// none.
func runAs(u command.Unix) string { return u.User() }

// SwitchesUser implements connector.UserSwitcher: the kernel switches the
// user when the process starts (no sudo, su or doas in the chroot).
func (c *Conn) SwitchesUser() {}

// argv turns the command into the process's arguments: `<shell> -c <line>`,
// or, without a shell, the words of line.
func (c *Conn) argv(shell, line string) ([]string, error) {
	if shell == "" {
		shell = command.DefaultShell
	}
	var argv []string
	if shell == command.NoShell {
		words, err := splitWords(line)
		if err != nil {
			return nil, c.errorf(connector.ErrCommand, "_shell_executable none: %w", err)
		}
		if len(words) == 0 {
			return nil, c.errorf(connector.ErrCommand, "empty command")
		}
		argv = words
	} else {
		argv = []string{shell, "-c", line}
	}
	exe, err := c.lookPath(argv[0])
	if err != nil {
		return nil, c.errorf(connector.ErrCommand, "in chroot %s: %w", c.dir, err)
	}
	argv[0] = exe
	return argv, nil
}

// lookPath finds name as the chroot would: on its own PATH, symlinks
// resolved inside the tree.
func (c *Conn) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = "/" + p
		}
		if err := c.checkExecutable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, dir := range strings.Split(defaultPath, ":") {
		p := dir + "/" + name
		if c.checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in the chroot (searched %s)", name, defaultPath)
}

func (c *Conn) checkExecutable(p string) error {
	fd, err := c.openIn(p, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// existingDir returns dir when it is a directory inside the chroot, else
// fallback.
func (c *Conn) existingDir(dir, fallback string) string {
	if dir == "" {
		return fallback
	}
	fd, err := c.openIn(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fallback
	}
	unix.Close(fd)
	return dir
}

// splitWords splits a command line into words the way a POSIX shell
// would for quoting (single and double quotes, backslashes), without
// expansions: enough for the commands goinfra renders itself.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case ch == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
