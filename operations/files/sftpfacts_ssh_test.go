package files_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/sshtest"
	"github.com/goinfra-dev/goinfra/operations/files"
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
	// A re-run's files.put of a file already there, as uploaded: an
	// lstat and a read over SFTP, no command.
	before := cc.Runs()
	optest.NoChange(t, h, "files.put", map[string]any{"src": "app.conf", "dest": base + "/data/app.conf", "mode": 644})
	if n := cc.Runs() - before; n != 0 {
		t.Errorf("planning files.put of an unchanged file ran %d commands, want none", n)
	}
	// Something of another type in the way, seen over SFTP too.
	if _, err := optest.TryPlan(t, h, "files.directory", map[string]any{"path": base + "/data/app.conf"}); err == nil {
		t.Error("files.directory over a regular file planned without error")
	}
	res, err = conn.Run(optest.Ctx(t), command.Shell("cd "+base+" && stat -c '%a' data data/flag && readlink current && cat data/app.conf"), connector.Options{})
	if err != nil || res.Stdout() != "750\n600\ndata\nport = 80" {
		t.Errorf("on the host: %q %v", res.Stdout(), err)
	}
}

// hidden is a connection without its capabilities (no connector.Stater):
// the facts run their commands.
type hidden struct{ connector.Conn }

// TestFileDigestOverSFTP: over a real sshd, files.FileDigest answered
// over SFTP is the value its command gives, for every kind of path; a
// small regular file costs no command, a large one is checksummed by the
// command, and a file the login user cannot read fails as the command
// does.
func TestFileDigestOverSFTP(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	conn, _ := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	cc := conntest.NewCounting(conn)
	ctx := optest.Ctx(t)
	res, err := conn.Run(ctx, command.Shell("d=$(mktemp -d) && cd $d && printf 'port = 80\\n' > small && chmod 4751 small && "+
		": > empty && head -c 100000 /dev/urandom > large && echo secret > denied && chmod 0 denied && "+
		"mkdir dir && ln -s small link && echo $d"), connector.Options{})
	if err != nil {
		t.Fatalf("%v: %s", err, res.Stderr())
	}
	base := strings.TrimSpace(res.Stdout())
	t.Cleanup(func() { conn.Run(context.Background(), command.Args("rm", "-rf", base), connector.Options{}) })

	for _, c := range []struct {
		name     string
		commands int // over SFTP
	}{
		{"small", 0}, {"empty", 0}, {"missing", 0}, {"dir", 0}, {"link", 0},
		// files.StatStyle and the fact's command.
		{"large", 2}, {"denied", 2},
	} {
		p := base + "/" + c.name
		before := cc.Runs()
		native, nErr := facts.Get(ctx, cc, files.FileDigest.Name(), facts.Args{"path": p}, connector.Options{})
		if n := cc.Runs() - before; n != c.commands {
			t.Errorf("%s: %d commands over SFTP, want %d", c.name, n, c.commands)
		}
		cmd, cErr := facts.Get(ctx, hidden{conn}, files.FileDigest.Name(), facts.Args{"path": p}, connector.Options{})
		nj, _ := json.Marshal(native)
		cj, _ := json.Marshal(cmd)
		if string(nj) != string(cj) || (nErr == nil) != (cErr == nil) {
			t.Errorf("%s: over SFTP %s, %v; by command %s, %v", c.name, nj, nErr, cj, cErr)
		}
		var nr *files.NotRegularError
		switch c.name {
		case "small":
			if d, _ := native.(*files.Digest); d == nil || d.Mode != 4751 || d.Size != 10 ||
				d.Sha256 != sha256Hex("port = 80\n") {
				t.Errorf("small: %s", nj)
			}
		case "large":
			if d, _ := native.(*files.Digest); d == nil || d.Size != 100000 {
				t.Errorf("large: %s", nj)
			}
		case "dir", "link":
			if !errors.As(nErr, &nr) {
				t.Errorf("%s: %v, want a NotRegularError", c.name, nErr)
			}
		case "denied":
			if nErr == nil {
				t.Errorf("denied: %s, want an error", nj)
			}
		case "missing":
			if native != nil || nErr != nil {
				t.Errorf("missing: %s, %v", nj, nErr)
			}
		}
	}
}
