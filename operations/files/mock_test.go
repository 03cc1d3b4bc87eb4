package files_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/optest"
)

// TestPutOnMock plans and applies files.put with no host: the
// files.FileSha256 and files.FileContents facts run their real commands
// against a conntest.MockConn, whose answers say dest holds other content.
// The plan is one upload with a diff; applying it uploads the source; an
// answer with the source's checksum plans nothing.
func TestPutOnMock(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.conf"), "v2\n", 0o644)
	stat := "81a4 3 1700000000 1700000000 1700000000 root:root\n"
	sum := func(s string) string {
		b := sha256.Sum256([]byte(s))
		return hex.EncodeToString(b[:]) + "  /etc/app.conf\n"
	}
	args := map[string]any{"src": "app.conf", "dest": "/etc/app.conf"}

	// files.FileSha256 sees v1 once, then (after the upload) v2.
	statSum := conntest.Regexp(`^if test -e /etc/app.conf \|\| test -L /etc/app.conf ; then stat .* sha256sum /etc/app.conf`)
	m := &conntest.MockConn{Host: "web1", T: t}
	m.On(conntest.Prefix("if stat -c %f / "), conntest.Response{Stdout: "gnu\n"})
	m.On(statSum, conntest.Response{Stdout: stat + sum("v1\n")}).Times(1)
	m.On(statSum, conntest.Response{Stdout: stat + sum("v2\n")})
	m.On(conntest.Contains("base64 < /etc/app.conf"), conntest.Response{Stdout: "djEK\n"}) // "v1\n"
	if err := m.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &optest.Host{HostName: "web1", Conn: m, Dir: dir}

	p := optest.Plan(t, h, "files.put", args)
	if got, want := steps(p, dir), []string{"upload D/app.conf to /etc/app.conf"}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps %q, want %q", got, want)
	}
	if !strings.Contains(p.Diff, "-v1\n+v2\n") {
		t.Errorf("diff:\n%s", p.Diff)
	}
	optest.Apply(t, h, p)
	if got := m.Uploads(); len(got) != 1 || string(got["/etc/app.conf"]) != "v2\n" {
		t.Errorf("uploads %q", got)
	}
	optest.NoChange(t, h, "files.put", args)
	// optest.Host caches nothing: files.StatStyle is asked before each
	// files.FileSha256.
	if n := len(m.Commands()); n != 5 {
		t.Errorf("%d commands, want 2 fact reads with their stat style and the diff's: %q", n, m.Commands())
	}
}
