package files_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/optest"
)

// TestBusybox runs the operations in a container whose every tool is
// busybox's (stat, sha256sum, base64, readlink, ...), as on minimal
// images, through the docker connector.
func TestBusybox(t *testing.T) {
	cli := dockertest.Client(t)
	name := dockertest.Name("files")
	dockertest.Container(t, cli, dockertest.BaseImage(t, cli), name, true)
	conn, _ := (&dockertest.Engine{Kind: "docker", Cli: cli}).Open(t, name, nil)
	t.Cleanup(func() { conn.Close() })
	if err := conn.Connect(optest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	h := &optest.Host{HostName: "@docker/" + name, Conn: conn, HostData: connector.Data{"port": 81}, Dir: t.TempDir()}
	sh := func(c string) string {
		t.Helper()
		res, err := conn.Run(optest.Ctx(t), command.Shell(c), connector.Options{})
		if err != nil {
			t.Fatalf("%s: %v: %s", c, err, res.Combined())
		}
		return res.Stdout()
	}

	writeFile(t, filepath.Join(h.Dir, "app.conf"), "a = 1\n", 0o644)
	optest.Converge(t, h, "files.put", map[string]any{"src": "app.conf", "dest": "/srv/app/app.conf", "mode": 600})
	writeFile(t, filepath.Join(h.Dir, "app.conf"), "a = 2\n", 0o644)
	p := optest.Converge(t, h, "files.put", map[string]any{"src": "app.conf", "dest": "/srv/app/app.conf", "mode": 600})
	if !strings.Contains(p.Diff, "-a = 1\n+a = 2\n") {
		t.Errorf("diff:\n%s", p.Diff)
	}
	optest.Converge(t, h, "files.line", map[string]any{"path": "/srv/app/app.conf", "line": "^b = ", "replace": "b = 3"})
	writeFile(t, filepath.Join(h.Dir, "t.j2"), "port {{ host.data.port }}\n", 0o644)
	optest.Converge(t, h, "files.template", map[string]any{"src": "t.j2", "dest": "/srv/app/t.conf"})
	optest.Converge(t, h, "files.directory", map[string]any{"path": "/srv/data", "mode": 700})
	optest.Converge(t, h, "files.file", map[string]any{"path": "/srv/data/flag", "mode": "0640"})
	optest.Converge(t, h, "files.link", map[string]any{"path": "/srv/current", "target": "app"})
	got := sh("stat -c '%a' /srv/app/app.conf /srv/data /srv/data/flag; readlink /srv/current; cat /srv/app/app.conf /srv/app/t.conf")
	if want := "600\n700\n640\napp\na = 2\nb = 3\nport 81"; got != want {
		t.Errorf("container state %q, want %q", got, want)
	}
	optest.Converge(t, h, "files.directory", map[string]any{"path": "/srv", "present": false})
}
