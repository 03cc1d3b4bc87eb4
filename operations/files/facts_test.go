package files_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/bsdstat"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// TestFileFact: files.File on this machine, as any user.
func TestFileFact(t *testing.T) {
	ctx := context.Background()
	c := local.New(&connector.Host{Name: local.HostName, Data: connector.Data{}})
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := facts.Host{Name: local.HostName, Conn: c}

	dir := t.TempDir()
	f := filepath.Join(dir, "a file's name")
	if err := os.WriteFile(f, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Chmod(f, 0o4751) // os.Chmod would drop the setuid bit given as 0o4000
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	os.Chtimes(f, mtime, mtime)
	u, _ := user.Current()

	fi, err := files.File.Get(ctx, h, f)
	if err != nil || fi == nil || fi.Mode != 4751 || fi.Size != 6 || !fi.MTime.Equal(mtime) || fi.User != u.Username || fi.Group == "" {
		t.Errorf("files.File = %+v, %v", fi, err)
	}
	// The CLI's JSON keys are pyinfra's.
	v, _ := h.Fact(ctx, "files.File", facts.Args{"path": f})
	if b, _ := json.Marshal(v); !strings.HasPrefix(string(b), `{"user":"`+u.Username+`","group":"`) || !strings.Contains(string(b), `"mode":4751,"size":6,"atime":"2020-02-03T04:05:06Z","mtime":"2020-02-03T04:05:06Z","ctime":"`) {
		t.Errorf("files.File as JSON: %s", b)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if fi, err := files.File.Get(ctx, h, empty); err != nil || fi == nil || fi.Size != 0 {
		t.Errorf("empty file: %+v, %v", fi, err)
	}
	if fi, err := files.File.Get(ctx, h, filepath.Join(dir, "missing")); err != nil || fi != nil {
		t.Errorf("missing file = %#v, %v; want nil", fi, err)
	}
	if v, err := h.Fact(ctx, "files.File", facts.Args{"path": filepath.Join(dir, "missing")}); err != nil || v != nil {
		t.Errorf("missing file by name = %#v, %v; want nil", v, err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(f, link)
	// Anything else is false, as in pyinfra, and Type says what it is.
	for p, typ := range map[string]string{dir: "directory", "/dev/null": "character device", link: "symbolic link"} {
		fi, err := files.File.Get(ctx, h, p)
		if err != nil || fi == nil || !fi.NotFile || fi.Type != typ {
			t.Errorf("files.File on %s: %+v, %v, want NotFile for a %s", p, fi, err, typ)
		}
	}
	if _, err := facts.Check("files.File", nil); !errors.Is(err, facts.ErrArgs) {
		t.Errorf("files.File without a path: %v", err)
	}
}

// TestFileContentsFramed: where the host has no base64 (OpenBSD),
// files.FileContents reads b64encode's output, framed by a begin line and
// "====" (uuencode.format(5)), and wrapped.
func TestFileContentsFramed(t *testing.T) {
	f, _ := facts.Lookup("files.FileContents")
	cmd, err := f.Command(facts.Args{"path": "/etc/rc.conf"})
	if err != nil || !strings.Contains(cmd.Raw(), "b64encode /etc/rc.conf") || !strings.Contains(cmd.Raw(), "base64 < /etc/rc.conf") {
		t.Fatalf("command %q, %v", cmd.Raw(), err)
	}
	want := strings.Repeat("sshd_enable=\"YES\"\r\n", 5) + "\n"
	enc := base64.StdEncoding.EncodeToString([]byte(want))
	lines := []string{"begin-base64 644 goinfra"}
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc, "====")
	var out connector.Output
	for _, l := range lines {
		out.Lines = append(out.Lines, connector.Line{Stream: connector.Stdout, Text: l})
	}
	v, err := f.Parse(out, facts.Args{"path": "/etc/rc.conf"})
	if s, ok := v.(*string); err != nil || !ok || *s != want {
		t.Errorf("got %#v, %v; want %q", v, err, want)
	}
}

// TestBSDStat: with a BSD stat first in PATH (internal/bsdstat: NetBSD's
// stat.c, the BSDs' and macOS's stat, built on Linux with libbsd), the
// host is found to have one, and the file facts read through stat -f give
// the values GNU stat gives for the same files. Without one, the
// recordings in testdata/pyinfra/goinfra stand for it
// (operations/pyinfratest).
func TestBSDStat(t *testing.T) {
	bsd := bsdstat.Path(t)
	dir := t.TempDir()
	f, d, l := filepath.Join(dir, "a file"), filepath.Join(dir, "dir"), filepath.Join(dir, "link")
	os.WriteFile(f, []byte("hello\n"), 0o600)
	syscall.Chmod(f, 0o4751)
	os.Mkdir(d, 0o1777)
	syscall.Chmod(d, 0o1777)
	os.Symlink("a file", l)
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)

	read := func(path string) (style any, values []string) {
		// files.FileSha256 reads the file: its atime moves.
		os.Chtimes(f, mtime.Add(time.Hour), mtime)
		t.Setenv("PATH", path)
		ctx := context.Background()
		c := local.New(&connector.Host{Name: local.HostName, Data: connector.Data{}})
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h := facts.Host{Name: local.HostName, Conn: c}
		style, err := h.Fact(ctx, "files.StatStyle", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct{ fact, path string }{
			{"files.File", f}, {"files.Directory", d}, {"files.Link", l}, {"files.File", l}, {"files.FileSha256", f}, {"files.FileDigest", f},
		} {
			v, err := h.Fact(ctx, q.fact, facts.Args{"path": q.path})
			if err != nil {
				t.Fatalf("%s %s: %v", q.fact, q.path, err)
			}
			b, _ := json.Marshal(v)
			values = append(values, q.fact+" "+string(b))
		}
		return style, values
	}
	bin := t.TempDir()
	if err := os.Symlink(bsd, filepath.Join(bin, "stat")); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("PATH")
	gnuStyle, gnu := read(path)
	bsdStyle, got := read(bin + ":" + path)
	if gnuStyle != files.StatGNU || bsdStyle != files.StatBSD {
		t.Fatalf("stat styles %v and %v", gnuStyle, bsdStyle)
	}
	// Reading moves times that cannot be set back: every chmod or
	// chtimes sets ctime to now, and the first readlink sets a fresh
	// link's atime. On a busy machine the two readings fall in different
	// seconds, so those are compared only for being there.
	moving := func(v string) string {
		name, js, _ := strings.Cut(v, " ")
		if name == "files.FileDigest" {
			return v // no times
		}
		var m map[string]any
		if json.Unmarshal([]byte(js), &m) != nil || m == nil {
			return v
		}
		for _, k := range []string{"ctime", "atime"} {
			if k == "atime" && name != "files.Link" {
				continue
			}
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %s", v, k)
			}
			delete(m, k)
		}
		b, _ := json.Marshal(m)
		return name + " " + string(b)
	}
	for i := range gnu {
		if moving(got[i]) != moving(gnu[i]) {
			t.Errorf("with BSD stat:\n got %s\nwant %s", got[i], gnu[i])
		}
	}
	if !strings.Contains(gnu[0], `"mode":4751,"size":6,"atime":"2020-02-03T05:05:06Z","mtime":"2020-02-03T04:05:06Z"`) || !strings.Contains(gnu[1], `"mode":1777`) || !strings.Contains(gnu[2], `"link_target":"a file"`) || gnu[3] != "files.File false" {
		t.Errorf("values: %q", gnu)
	}
}
