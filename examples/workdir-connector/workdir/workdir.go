//go:build unix

// Package workdir is an example executing connector kind: "@workdir/DIR"
// runs commands on this machine in DIR, with HOME set to DIR, and takes
// relative file paths from DIR — a private home for each host that needs no
// privileges. It is an ordinary Go connector.Driver; the program in
// cmd/goinfra-connector-workdir serves it as an external connector, and a
// custom goinfra binary could register it in-process instead.
package workdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// Driver is the workdir kind.
type Driver struct{}

// DataKeys: the root directory, and whether to create it.
func (Driver) DataKeys() []connector.DataKey {
	return []connector.DataKey{
		{Name: "workdir_directory", Type: connector.String, Description: "directory commands run in (also their HOME)"},
		{Name: "workdir_create", Type: connector.Bool, Default: false, Description: "create the directory when it is missing"},
	}
}

// Description for `goinfra connectors`.
func (Driver) Description() string {
	return "runs commands in a directory that is their HOME and working directory"
}

// Expand turns "@workdir/DIR" into one host.
func (Driver) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, errors.New("@workdir needs a directory: @workdir/DIR")
	}
	dir, err := filepath.Abs(arg)
	if err != nil {
		return nil, fmt.Errorf("@workdir/%s: %w", arg, err)
	}
	return []connector.Target{{Name: "@workdir/" + arg, Data: map[string]any{"workdir_directory": dir}, Groups: []string{"@workdir"}}}, nil
}

// Open makes a connection to the directory of h.
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	root := h.Data.String("workdir_directory")
	if root == "" {
		return nil, connector.Errorf(h.Name, connector.ErrConnect, "data key workdir_directory is not set")
	}
	return &Conn{host: h, root: root, create: h.Data.Bool("workdir_create")}, nil
}

// Conn runs commands in the root directory.
type Conn struct {
	host      *connector.Host
	root      string
	create    bool
	connected bool
}

// Connect checks (or creates) the root directory.
func (c *Conn) Connect(context.Context) error {
	if c.create {
		if err := os.MkdirAll(c.root, 0o755); err != nil {
			return connector.Errorf(c.host.Name, connector.ErrConnect, "%w", err)
		}
	}
	fi, err := os.Stat(c.root)
	if err != nil {
		return connector.Errorf(c.host.Name, connector.ErrConnect, "root directory: %w", err)
	}
	if !fi.IsDir() {
		return connector.Errorf(c.host.Name, connector.ErrConnect, "root %s is not a directory", c.root)
	}
	c.connected = true
	return nil
}

// Close has nothing to release.
func (c *Conn) Close() error { c.connected = false; return nil }

// Path resolves a host path: relative paths are taken from the root.
func (c *Conn) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.root, p)
}

// Run runs cmd with sh in the root directory.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	if !c.connected {
		return res, connector.Errorf(c.host.Name, connector.ErrNotConnected, "connect first")
	}
	if opts.SudoPassword != "" || opts.SuPassword != "" || opts.DoasPassword != "" {
		return res, connector.Errorf(c.host.Name, connector.ErrUnsupported, "workdir cannot pass escalation passwords")
	}
	wrapped := opts.Unix.Wrap(cmd)
	if opts.OnCommand != nil {
		opts.OnCommand(wrapped.String())
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	rec := connector.NewRecorderFor(opts, c.host.Logger())
	x := exec.Command("/bin/sh", "-c", wrapped.Raw())
	x.Dir = c.root
	x.Env = append(os.Environ(), "HOME="+c.root, "PWD="+c.root, "GOINFRA_ROOT="+c.root)
	x.Stdout, x.Stderr, x.Stdin = rec.Stdout(), rec.Stderr(), opts.Stdin
	x.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	x.WaitDelay = time.Second
	start := time.Now()
	if err := x.Start(); err != nil {
		return res, connector.Errorf(c.host.Name, connector.ErrCommand, "start: %w", err)
	}
	// Stop the whole process group: a timeout must not leave children running.
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-x.Process.Pid, syscall.SIGKILL) })
	err := x.Wait()
	stopped := !stop()
	res.Output, res.Duration = rec.Output(), time.Since(start)
	if x.ProcessState != nil && x.ProcessState.Exited() {
		res.ExitCode = x.ProcessState.ExitCode()
	}
	switch {
	case stopped && errors.Is(ctx.Err(), context.DeadlineExceeded) && opts.Timeout > 0:
		return res, &connector.TimeoutError{Host: c.host.Name, Limit: opts.Timeout}
	case stopped:
		return res, connector.Errorf(c.host.Name, connector.ErrTimeout, "command canceled: %w", ctx.Err())
	case res.ExitCode < 0:
		return res, connector.Errorf(c.host.Name, connector.ErrCommand, "%v", err)
	case !opts.Succeeded(res.ExitCode):
		return res, &connector.CommandError{Host: c.host.Name, ExitCode: res.ExitCode, Command: wrapped.String()}
	}
	return res, nil
}

// Put writes r to dst inside the root, atomically.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, _ connector.Options) error {
	if !c.connected {
		return connector.Errorf(c.host.Name, connector.ErrNotConnected, "connect first")
	}
	err := connector.WriteFileAtomic(c.Path(dst), 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
	if err != nil {
		return connector.Errorf(c.host.Name, connector.ErrTransfer, "put %s: %w", dst, err)
	}
	return nil
}

// Get copies src inside the root into w.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, _ connector.Options) error {
	if !c.connected {
		return connector.Errorf(c.host.Name, connector.ErrNotConnected, "connect first")
	}
	f, err := os.Open(c.Path(src))
	if err != nil {
		return connector.Errorf(c.host.Name, connector.ErrTransfer, "get %s: %w", src, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return connector.Errorf(c.host.Name, connector.ErrTransfer, "get %s: %w", src, err)
	}
	return nil
}
