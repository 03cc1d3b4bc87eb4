package files_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// statMock is a MockConn that also reads metadata (connector.Stater), as
// the ssh connector does over SFTP.
type statMock struct {
	*conntest.MockConn
	paths  map[string]fs.FileMode
	sizes  map[string]int64
	lstats int
}

func (s *statMock) Lstat(_ context.Context, p string) (*connector.FileStat, error) {
	s.lstats++
	m, ok := s.paths[p]
	if !ok {
		return nil, connector.Errorf(s.Host, connector.ErrTransfer, "lstat %s: %w", p, fs.ErrNotExist)
	}
	if m == 0 {
		return nil, connector.Errorf(s.Host, connector.ErrTransfer, "lstat %s: %w", p, fs.ErrPermission)
	}
	return &connector.FileStat{Mode: m, Size: s.sizes[p]}, nil
}

func (s *statMock) Stat(ctx context.Context, p string) (*connector.FileStat, error) {
	return s.Lstat(ctx, p)
}

func (s *statMock) Readlink(context.Context, string) (string, error) {
	return "", errors.New("not used")
}

func newStatMock(t *testing.T, paths map[string]fs.FileMode) *statMock {
	m := &statMock{MockConn: &conntest.MockConn{Host: "web1", T: t}, paths: paths}
	if err := m.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// The file facts answer from an lstat, without a command, where that is
// the whole answer: nothing there, or another type. An existing path of
// the fact's type, an escalated fact, a relative path, and an lstat that
// fails otherwise run the command. (The mock fails any command it was
// not told to expect.)
func TestFileFactsOverStater(t *testing.T) {
	ctx := context.Background()
	m := newStatMock(t, map[string]fs.FileMode{
		"/d": fs.ModeDir | 0o755, "/f": 0o644, "/l": fs.ModeSymlink | 0o777, "/fifo": fs.ModeNamedPipe | 0o600,
		"/denied": 0,
	})
	h := facts.Host{Name: "web1", Conn: m}
	if v, err := files.File.Get(ctx, h, "/missing"); err != nil || v != nil {
		t.Errorf("File of a missing path: %+v %v", v, err)
	}
	if v, err := files.File.Get(ctx, h, "/d"); err != nil || v == nil || !v.NotFile || v.Type != "directory" {
		t.Errorf("File of a directory: %+v %v", v, err)
	}
	if v, err := files.File.Get(ctx, h, "/fifo"); err != nil || v == nil || !v.NotFile || v.Type != "fifo" {
		t.Errorf("File of a fifo: %+v %v", v, err)
	}
	if v, err := files.Directory.Get(ctx, h, "/f"); err != nil || v == nil || !v.NotDir {
		t.Errorf("Directory of a file: %+v %v", v, err)
	}
	if v, err := files.Link.Get(ctx, h, "/d"); err != nil || v == nil || !v.NotLink {
		t.Errorf("Link of a directory: %+v %v", v, err)
	}
	if v, err := files.Link.Get(ctx, h, "/missing"); err != nil || v != nil {
		t.Errorf("Link of a missing path: %+v %v", v, err)
	}
	if v, err := files.FileSha256.Get(ctx, h, "/missing"); err != nil || v != nil {
		t.Errorf("FileSha256 of a missing path: %+v %v", v, err)
	}
	var nr *files.NotRegularError
	if v, err := files.FileSha256.Get(ctx, h, "/l"); !errors.As(err, &nr) || nr.Type != "symbolic link" || nr.Path != "/l" || v != nil {
		t.Errorf("FileSha256 of a link: %+v %v", v, err)
	}
	if n := len(m.Commands()); n != 0 || m.lstats != 8 {
		t.Fatalf("%d commands and %d lstats, want none and 8: %q", n, m.lstats, m.Commands())
	}

	// The command's answers: attributes of a path of the fact's type.
	m.On(conntest.Prefix("if stat -c %f / "), conntest.Response{Stdout: "gnu\n"})
	m.On(conntest.Prefix("if test -e /d "), conntest.Response{Stdout: "41ed 4096 1700000000 1700000000 1700000000 root:root\n"})
	if v, err := files.Directory.Get(ctx, h, "/d"); err != nil || v == nil || v.NotDir || v.User != "root" || v.Mode != 755 {
		t.Errorf("Directory of a directory: %+v %v", v, err)
	}
	m.On(conntest.Prefix("if test -e d "), conntest.Response{})
	m.On(conntest.Prefix("if test -e /missing "), conntest.Response{})
	m.On(conntest.Prefix("if test -e /denied "), conntest.Response{})
	before := m.lstats
	if v, err := files.Directory.Get(ctx, h, "d"); err != nil || v != nil {
		t.Errorf("Directory of a relative path: %+v %v", v, err)
	}
	sudo := facts.Host{Name: "web1", Conn: m, Opts: connector.Options{Unix: command.Unix{Sudo: true}}}
	if v, err := files.Directory.Get(ctx, sudo, "/missing"); err != nil || v != nil {
		t.Errorf("Directory with sudo: %+v %v", v, err)
	}
	if m.lstats != before {
		t.Errorf("lstat asked for a relative path or an escalated fact")
	}
	if v, err := files.Directory.Get(ctx, h, "/denied"); err != nil || v != nil {
		t.Errorf("Directory after a failed lstat: %+v %v", v, err)
	}
	if got := len(m.Commands()); got != 8 {
		t.Errorf("%d commands, want 8 (stat style and stat for each of /d, d, sudo /missing, /denied): %q", got, m.Commands())
	}
}

// files.put of a new file over a Stater: the look at the destination
// (files.FileSha256) and at its parent (create_remote_dir) are lstats,
// not commands.
func TestPutNewFileOverStater(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.bin"), "data", 0o644)
	m := newStatMock(t, map[string]fs.FileMode{"/srv": fs.ModeDir | 0o755, "/etc/motd": 0o644})
	h := &optest.Host{HostName: "web1", Conn: m, Dir: dir}
	p := optest.Plan(t, h, "files.put", map[string]any{"src": "big.bin", "dest": "/srv/big.bin"})
	if got, want := steps(p, dir), []string{"upload D/big.bin to /srv/big.bin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps %q, want %q", got, want)
	}
	if n := len(m.Commands()); n != 0 || m.lstats != 2 {
		t.Errorf("ran %q and %d lstats, want no command and two lstats (the destination, the parent)", m.Commands(), m.lstats)
	}
	p = optest.Plan(t, h, "files.put", map[string]any{"src": "big.bin", "dest": "/new/big.bin"})
	if got, want := steps(p, dir), []string{"mkdir -p /new", "upload D/big.bin to /new/big.bin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps %q, want %q", got, want)
	}
	if n := len(m.Commands()); n != 0 {
		t.Errorf("ran %q, want no command", m.Commands())
	}
	// A regular file where the directory should be: its attributes are
	// the command's, and the plan fails.
	m.On(conntest.Prefix("if stat -c %f / "), conntest.Response{Stdout: "gnu\n"})
	m.On(conntest.Prefix("if test -e /etc/motd "), conntest.Response{Stdout: "81a4 3 1700000000 1700000000 1700000000 root:root\n"})
	if _, err := optest.TryPlan(t, h, "files.put", map[string]any{"src": "big.bin", "dest": "/etc/motd/big.bin"}); err == nil ||
		!strings.Contains(err.Error(), "/etc/motd exists and is not a directory") {
		t.Errorf("a regular file as the parent directory: %v", err)
	}
}

// files.FileDigest over a Stater: a small regular file is read and
// checksummed here, no command; whatever the read cannot settle is the
// command's: a file over the size read so, a read that fails, a file
// whose size changed since its lstat, an escalated fact.
func TestFileDigestOverStater(t *testing.T) {
	ctx := context.Background()
	const big = 64<<10 + 1
	m := newStatMock(t, map[string]fs.FileMode{
		"/f": 0o644 | fs.ModeSetgid, "/d": fs.ModeDir | 0o755, "/big": 0o644, "/unread": 0o644, "/grew": 0o644, "/shrank": 0o644,
	})
	m.sizes = map[string]int64{"/f": 3, "/big": big, "/unread": 3, "/grew": 3, "/shrank": 3}
	m.SetFile("/f", []byte("v1\n"))
	m.SetFile("/big", make([]byte, big))
	m.SetFile("/grew", []byte("v1\nv2\n"))
	m.SetFile("/shrank", []byte("v"))
	h := facts.Host{Name: "web1", Conn: m}
	if v, err := files.FileDigest.Get(ctx, h, "/f"); err != nil || v == nil ||
		*v != (files.Digest{Mode: 2644, Size: 3, Sha256: sha256Hex("v1\n")}) {
		t.Errorf("FileDigest of a small file: %+v %v", v, err)
	}
	if v, err := files.FileDigest.Get(ctx, h, "/missing"); err != nil || v != nil {
		t.Errorf("FileDigest of a missing path: %+v %v", v, err)
	}
	var nr *files.NotRegularError
	if v, err := files.FileDigest.Get(ctx, h, "/d"); !errors.As(err, &nr) || nr.Type != "directory" || v != nil {
		t.Errorf("FileDigest of a directory: %+v %v", v, err)
	}
	if n := len(m.Commands()); n != 0 {
		t.Fatalf("ran %q, want no command", m.Commands())
	}

	m.On(conntest.Prefix("if stat -c %f / "), conntest.Response{Stdout: "gnu\n"})
	sum := sha256Hex("cmd\n")
	for _, p := range []string{"/big", "/unread", "/grew", "/shrank", "/sudo"} {
		m.On(conntest.Prefix("if test -e "+p+" "), conntest.Response{Stdout: "81a4 4 1700000000 1700000000 1700000000 root:root\n" + sum + "  " + p + "\n"})
	}
	sudo := facts.Host{Name: "web1", Conn: m, Opts: connector.Options{Unix: command.Unix{Sudo: true}}}
	for p, src := range map[string]facts.Host{"/big": h, "/unread": h, "/grew": h, "/shrank": h, "/sudo": sudo} {
		before := len(m.Commands())
		v, err := files.FileDigest.Get(ctx, src, p)
		if err != nil || v == nil || *v != (files.Digest{Mode: 644, Size: 4, Sha256: sum}) {
			t.Errorf("FileDigest of %s: %+v %v, want the command's answer", p, v, err)
		}
		if n := len(m.Commands()) - before; n != 2 {
			t.Errorf("FileDigest of %s: %d commands, want the stat style and the fact's", p, n)
		}
	}
}
