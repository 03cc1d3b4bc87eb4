package facts_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/inventory"
)

// localConn connects to this machine through the real local connector.
func localConn(t *testing.T) connector.Conn {
	t.Helper()
	d, _ := connector.Lookup(local.Kind)
	c, err := d.(connector.Opener).Open(&connector.Host{Name: local.HostName, Data: connector.Data{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, c connector.Conn, name string, args facts.Args, opts connector.Options) any {
	t.Helper()
	v, err := facts.Get(context.Background(), c, name, args, opts)
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return v
}

func uname(t *testing.T, flag string) string {
	out, err := exec.Command("uname", flag).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestServerFacts(t *testing.T) {
	c := localConn(t)
	host, _ := os.Hostname()
	u, _ := user.Current()
	for name, want := range map[string]any{
		"server.Hostname":      host,
		"server.Os":            "Linux",
		"server.Arch":          uname(t, "-m"),
		"server.Kernel":        "Linux",
		"server.KernelVersion": uname(t, "-r"),
		"server.User":          u.Username,
		"server.Home":          u.HomeDir,
	} {
		if got := get(t, c, name, nil, connector.Options{}); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if runtime.GOARCH == "amd64" && get(t, c, "server.Arch", nil, connector.Options{}) != "x86_64" {
		t.Error("server.Arch on amd64 is not x86_64")
	}
	sh, _ := exec.LookPath("sh")
	if got := get(t, c, "server.Which", facts.Args{"command": "sh"}, connector.Options{}); got != sh {
		t.Errorf("server.Which sh = %v, want %s", got, sh)
	}
	if got := get(t, c, "server.Which", facts.Args{"command": "no-such-command-here"}, connector.Options{}); got != nil {
		t.Errorf("server.Which of a missing command = %v, want null", got)
	}
	if got := get(t, c, "server.Home", facts.Args{"user": "root"}, connector.Options{}); got != "/root" {
		t.Errorf("server.Home user=root = %v", got)
	}
	if got := get(t, c, "server.Home", facts.Args{"user": "no_such_user_x"}, connector.Options{}); got != nil {
		t.Errorf("server.Home of a missing user = %v, want null", got)
	}
}

// Facts run with the command options: with sudo they see the other user.
func TestFactWithSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "needs root to sudo without a password")
	}
	if _, err := exec.LookPath("sudo"); err != nil {
		testenv.Skip(t, "sudo is not installed")
	}
	c := localConn(t)
	opts := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "nobody"}}
	if got := get(t, c, "server.User", nil, opts); got != "nobody" {
		t.Errorf("server.User with sudo -u nobody = %v", got)
	}
}

func TestFilesFile(t *testing.T) {
	c := localConn(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "a file's name")
	if err := os.WriteFile(f, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Chmod(f, 0o4751) // os.Chmod would drop the setuid bit given as 0o4000
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	os.Chtimes(f, mtime, mtime)
	u, _ := user.Current()

	v := get(t, c, "files.File", facts.Args{"path": f}, connector.Options{})
	fi, ok := v.(*facts.FileInfo)
	if !ok {
		t.Fatalf("files.File = %#v", v)
	}
	if fi.Mode != 4751 || fi.Size != 6 || !fi.MTime.Equal(mtime) || fi.User != u.Username || fi.Group == "" {
		t.Errorf("files.File = %+v", fi)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if fi, _ := get(t, c, "files.File", facts.Args{"path": empty}, connector.Options{}).(*facts.FileInfo); fi == nil || fi.Size != 0 {
		t.Errorf("empty file: %+v", fi)
	}
	if got := get(t, c, "files.File", facts.Args{"path": filepath.Join(dir, "missing")}, connector.Options{}); got != nil {
		t.Errorf("missing file = %#v, want nil", got)
	}
	for p, typ := range map[string]string{dir: "directory", "/dev/null": "character special file"} {
		_, err := facts.Get(context.Background(), c, "files.File", facts.Args{"path": p}, connector.Options{})
		var nr *facts.NotRegularError
		if !errors.As(err, &nr) || nr.Type != typ || nr.Path != p {
			t.Errorf("files.File on %s: %v, want a NotRegularError for a %s", p, err, typ)
		}
	}
	link := filepath.Join(dir, "link")
	os.Symlink(f, link)
	if _, err := facts.Get(context.Background(), c, "files.File", facts.Args{"path": link}, connector.Options{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("files.File on a link: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		args facts.Args
		want error
	}{
		{"server.Nope", nil, facts.ErrUnknown},
		{"files.File", nil, facts.ErrArgs},
		{"files.File", facts.Args{"path": "/x", "mode": "1"}, facts.ErrArgs},
		{"server.Hostname", facts.Args{"x": "1"}, facts.ErrArgs},
		{"server.Home", facts.Args{"user": "a; rm -rf /"}, facts.ErrArgs},
		{"files.File", facts.Args{"path": "/x"}, nil},
	} {
		_, err := facts.Check(tc.name, tc.args)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%s, %v) = %v, want %v", tc.name, tc.args, err, tc.want)
		}
	}
}

// countingConn counts the commands a real connection runs.
type countingConn struct {
	connector.Conn
	n atomic.Int32
}

func (c *countingConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	c.n.Add(1)
	return c.Conn.Run(ctx, cmd, opts)
}

func TestCachedOncePerHost(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Load(ctx, "@local", inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := engine.New(inv, engine.Config{})
	defer run.Close(ctx)
	if _, err := run.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h := run.Hosts()[0]
	cc := &countingConn{Conn: h.Conn}
	h.Conn = cc
	for range 3 {
		if _, err := facts.Cached(ctx, h, "server.Hostname", nil, connector.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	facts.Cached(ctx, h, "server.User", nil, connector.Options{Unix: command.Unix{Sudo: true}})
	if n := cc.n.Load(); n != 2 {
		t.Errorf("ran %d commands, want 2 (one per fact and user)", n)
	}
	h.Forget("fact:")
	facts.Cached(ctx, h, "server.Hostname", nil, connector.Options{})
	if n := cc.n.Load(); n != 3 {
		t.Errorf("after Forget: ran %d commands, want 3", n)
	}
}
