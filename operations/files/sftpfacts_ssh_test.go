package files_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/sshtest"
)

// TestSSHLoginUserOverSFTP: as the login user (no escalation) over a real
// sshd, the file facts of paths not there yet are answered over SFTP: a
// plan that creates things runs no command, and the operations converge.
func TestSSHLoginUserOverSFTP(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	conn, data := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	cc := conntest.NewCounting(conn)
	h := &optest.Host{HostName: s.Name, Conn: cc, HostData: data, Dir: t.TempDir()}
	res, err := conn.Run(optest.Ctx(t), command.Shell("mktemp -d"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(res.Stdout())
	t.Cleanup(func() { conn.Run(context.Background(), command.Args("rm", "-rf", base), connector.Options{}) })

	// Nothing at the paths: the plans need no command.
	writeFile(t, filepath.Join(h.Dir, "app.conf"), "port = 80\n", 0o644)
	for _, op := range []struct {
		name string
		args map[string]any
	}{
		{"files.directory", map[string]any{"path": base + "/data"}},
		{"files.link", map[string]any{"path": base + "/current", "target": "data"}},
		{"files.put", map[string]any{"src": "app.conf", "dest": base + "/app.conf"}},
	} {
		before := cc.Runs()
		optest.Plan(t, h, op.name, op.args)
		if n := cc.Runs() - before; n != 0 {
			t.Errorf("planning %s of a new path ran %d commands, want none", op.name, n)
		}
	}
	optest.Converge(t, h, "files.directory", map[string]any{"path": base + "/data", "mode": 750})
	optest.Converge(t, h, "files.link", map[string]any{"path": base + "/current", "target": "data"})
	optest.Converge(t, h, "files.file", map[string]any{"path": base + "/data/flag", "mode": 600})
	optest.Converge(t, h, "files.put", map[string]any{"src": "app.conf", "dest": base + "/data"})
	// Something of another type in the way, seen over SFTP too.
	if _, err := optest.TryPlan(t, h, "files.directory", map[string]any{"path": base + "/data/app.conf"}); err == nil {
		t.Error("files.directory over a regular file planned without error")
	}
	res, err = conn.Run(optest.Ctx(t), command.Shell("cd "+base+" && stat -c '%a' data data/flag && readlink current && cat data/app.conf"), connector.Options{})
	if err != nil || res.Stdout() != "750\n600\ndata\nport = 80" {
		t.Errorf("on the host: %q %v", res.Stdout(), err)
	}
}
