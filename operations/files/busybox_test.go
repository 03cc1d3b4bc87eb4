package files_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
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
	if err := conn.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	h := &testHost{name: "@docker/" + name, conn: conn, data: connector.Data{"port": 81}, dir: t.TempDir()}
	sh := func(c string) string {
		t.Helper()
		res, err := conn.Run(ctxT(t), command.Shell(c), connector.Options{})
		if err != nil {
			t.Fatalf("%s: %v: %s", c, err, res.Combined())
		}
		return res.Stdout()
	}

	writeFile(t, filepath.Join(h.dir, "app.conf"), "a = 1\n", 0o644)
	converge(t, h, "files.put", map[string]any{"src": "app.conf", "dest": "/srv/app/app.conf", "mode": 600})
	writeFile(t, filepath.Join(h.dir, "app.conf"), "a = 2\n", 0o644)
	p := converge(t, h, "files.put", map[string]any{"src": "app.conf", "dest": "/srv/app/app.conf", "mode": 600})
	if !strings.Contains(p.Diff, "-a = 1\n+a = 2\n") {
		t.Errorf("diff:\n%s", p.Diff)
	}
	converge(t, h, "files.line", map[string]any{"path": "/srv/app/app.conf", "line": "^b = ", "replace": "b = 3"})
	writeFile(t, filepath.Join(h.dir, "t.j2"), "port {{ host.data.port }}\n", 0o644)
	converge(t, h, "files.template", map[string]any{"src": "t.j2", "dest": "/srv/app/t.conf"})
	converge(t, h, "files.directory", map[string]any{"path": "/srv/data", "mode": 700})
	converge(t, h, "files.file", map[string]any{"path": "/srv/data/flag", "mode": "0640"})
	converge(t, h, "files.link", map[string]any{"path": "/srv/current", "target": "app"})
	got := sh("stat -c '%a' /srv/app/app.conf /srv/data /srv/data/flag; readlink /srv/current; cat /srv/app/app.conf /srv/app/t.conf")
	if want := "600\n700\n640\napp\na = 2\nb = 3\nport 81"; got != want {
		t.Errorf("container state %q, want %q", got, want)
	}
	converge(t, h, "files.directory", map[string]any{"path": "/srv", "present": false})
}
