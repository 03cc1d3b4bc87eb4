package files_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/sshtest"
)

// TestSSHSudo runs the operations over a real sshd as the fleet's
// passwordless-sudo user with _sudo: uploads and edits land in a
// root-only directory, facts are gathered through sudo.
func TestSSHSudo(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	conn, data := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	h := &optest.Host{HostName: s.Name, Conn: conn, HostData: data, Dir: t.TempDir(),
		Opts: connector.Options{Unix: command.Unix{Sudo: true}}}

	// In Processes mode the servers share this machine's files.
	base := "/var/lib/goinfra-files-test-" + s.Name
	exec := func(c string) string {
		t.Helper()
		out, err := s.Exec(optest.Ctx(t), c)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	exec("rm -rf " + base + " && mkdir -m 700 " + base)
	t.Cleanup(func() { s.Exec(optest.Ctx(t), "rm -rf "+base) })

	writeFile(t, filepath.Join(h.Dir, "app.conf"), "port = 80\n", 0o644)
	conf := base + "/conf/app.conf"
	args := map[string]any{"src": "app.conf", "dest": conf, "user": sshfleet.DeployUser, "mode": 640}
	optest.Converge(t, h, "files.put", args)
	if got := exec("stat -c '%U %G %a' " + conf + " && cat " + conf); got != "deploy root 640\nport = 80" {
		t.Fatalf("uploaded file: %q", got)
	}
	writeFile(t, filepath.Join(h.Dir, "app.conf"), "port = 81\n", 0o644)
	p := optest.Converge(t, h, "files.put", args)
	if !strings.Contains(p.Diff, "-port = 80\n+port = 81\n") {
		t.Errorf("diff over ssh with sudo:\n%s", p.Diff)
	}
	if got := exec("stat -c '%U %G %a' " + conf); got != "deploy root 640" {
		t.Errorf("replaced file is %q", got)
	}

	p = optest.Converge(t, h, "files.line", map[string]any{"path": conf, "line": "^port", "replace": "port = 8080"})
	if got := exec("cat " + conf); got != "port = 8080" {
		t.Errorf("edited file: %q", got)
	}
	if !strings.Contains(p.Diff, "+port = 8080") {
		t.Errorf("line diff:\n%s", p.Diff)
	}

	writeFile(t, filepath.Join(h.Dir, "motd.j2"), "Welcome to {{ host.name }} ({{ role }})\n", 0o644)
	optest.Converge(t, h, "files.template", map[string]any{"src": "motd.j2", "dest": base + "/motd", "role": "web"})
	if got := exec("cat " + base + "/motd"); got != "Welcome to "+s.Name+" (web)" {
		t.Errorf("template: %q", got)
	}

	optest.Converge(t, h, "files.directory", map[string]any{"path": base + "/data", "user": sshfleet.DeployUser, "mode": 750})
	optest.Converge(t, h, "files.file", map[string]any{"path": base + "/data/flag", "mode": 600})
	optest.Converge(t, h, "files.link", map[string]any{"path": base + "/current", "target": "data"})
	if got := exec("stat -c '%U %a' " + base + "/data " + base + "/data/flag && readlink " + base + "/current"); got != "deploy 750\nroot 600\ndata" {
		t.Errorf("directory, file, link: %q", got)
	}
	local := filepath.Join(h.Dir, "fetched.conf")
	optest.Converge(t, h, "files.get", map[string]any{"src": conf, "dest": local})
	if got := readFile(t, local); got != "port = 8080\n" {
		t.Errorf("downloaded %q", got)
	}
	optest.Converge(t, h, "files.directory", map[string]any{"path": base + "/data", "present": false})
	if got := exec("test -e " + base + "/data && echo present || echo gone"); got != "gone" {
		t.Errorf("present=False: %s", got)
	}

	// Without sudo, as the login user (SFTP uploads), in a directory of
	// its own.
	own := base + "/own"
	exec("mkdir " + own + " && chown deploy " + own + " && chmod 755 " + base)
	plain := &optest.Host{HostName: s.Name, Conn: conn, HostData: data, Dir: h.Dir}
	p = optest.Converge(t, plain, "files.put", map[string]any{"src": "app.conf", "dest": own + "/app.conf", "mode": "0600"})
	if !strings.Contains(p.Diff, "+port = 81") {
		t.Errorf("diff:\n%s", p.Diff)
	}
	optest.Converge(t, plain, "files.line", map[string]any{"path": own + "/app.conf", "line": "extra = 1"})
	if got := exec("stat -c '%U %a' " + own + "/app.conf && cat " + own + "/app.conf"); got != "deploy 600\nport = 81\nextra = 1" {
		t.Errorf("uploaded without sudo: %q", got)
	}
	// A root-only file cannot be read without sudo: planning says so.
	exec("echo secret > " + base + "/secret && chmod 600 " + base + "/secret")
	if _, err := optest.TryPlan(t, plain, "files.line", map[string]any{"path": base + "/secret", "line": "x"}); err == nil || !strings.Contains(err.Error(), "ermission denied") {
		t.Errorf("reading a root-only file without sudo: %v", err)
	}
}
