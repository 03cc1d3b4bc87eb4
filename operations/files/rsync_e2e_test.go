package files_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/sshtest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// TestRsync copies a local tree with this machine's rsync to @local and,
// over a real sshd with _sudo, into a root-only directory; the default
// flags delete what src lacks. files.rsync always runs (as pyinfra's).
func TestRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		testenv.Skip(t, "no local rsync: %v", err)
	}
	h := localHost(t)
	writeFile(t, filepath.Join(h.Dir, "site", "index.html"), "hi\n", 0o640)
	writeFile(t, filepath.Join(h.Dir, "site", "css", "a.css"), "a{}\n", 0o644)
	dest := t.TempDir() + "/www"
	writeFile(t, dest+"/old.html", "old\n", 0o644)
	args := map[string]any{"src": "site/", "dest": dest}
	optest.Apply(t, h, optest.Plan(t, h, "files.rsync", args))
	if got := stat(t, dest+"/index.html") + " " + readFile(t, dest+"/css/a.css"); got != "root root 640 a{}\n" {
		t.Errorf("after rsync to @local: %q", got)
	}
	if out, _ := exec.Command("ls", dest).Output(); string(out) != "css\nindex.html\n" {
		t.Errorf("rsync --delete left %q", out)
	}
	if p := optest.Plan(t, h, "files.rsync", args); !p.Changed() {
		t.Errorf("files.rsync plans nothing on the second run (pyinfra's always runs)")
	}
	if _, err := optest.TryPlan(t, h, "files.rsync", map[string]any{"src": "none/", "dest": dest}); err == nil {
		t.Errorf("a missing src plans")
	}

	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	conn, data := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	sh := &optest.Host{HostName: s.Name, Conn: conn, HostData: data, Dir: h.Dir,
		Opts: connector.Options{Unix: command.Unix{Sudo: true}}}
	base := "/root/goinfra-rsync-" + s.Name
	t.Cleanup(func() { s.Exec(optest.Ctx(t), "rm -rf "+base) })
	optest.Apply(t, sh, optest.Plan(t, sh, "files.rsync", map[string]any{"src": "site/", "dest": base, "flags": []any{"-a"}}))
	out, err := s.Exec(optest.Ctx(t), "stat -c '%U %a' "+base+"/index.html && cat "+base+"/css/a.css")
	if err != nil || strings.TrimSpace(out) != "root 640\na{}" {
		t.Errorf("after rsync over ssh with sudo: %q, %v", out, err)
	}
}
