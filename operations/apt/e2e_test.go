package apt_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestDeployThroughBinary runs a deploy file with the real binary
// (cmd/goinfra) against a Debian container of the ssh fleet with the
// test's own repository: --dry installs nothing, the first run installs,
// the second reports "No changes".
func TestDeployThroughBinary(t *testing.T) {
	h, f := debianHost(t)
	localRepository(t, h)
	s := f.Servers[0]
	dir := t.TempDir()
	bin := filepath.Join(dir, "goinfra")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/goinfra: %v: %s", err, out)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ssh_config", "")
	write("inventory.star", fmt.Sprintf("debian = [(%q, {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, "+
		"\"ssh_known_hosts_file\": %q, \"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, \"ssh_allow_agent\": False})]\n",
		s.Name, s.Host, s.Port, sshfleet.DeployUser, f.KeyFile, f.KnownHostsFile, filepath.Join(dir, "ssh_config")))
	write("deploy.star", `
apt.update(name="Update", cache_time=3600, _sudo=True)
apt.packages(name="Tools", packages=["goinfra-tool", "goinfra-hello=1.0"], no_recommends=True, _sudo=True)
`)
	goinfra := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	}
	installed := func() string {
		// Known but not installed packages are listed too: keep the others.
		return optest.Run(t, h, "dpkg-query -W -f '${Status}|${Package}=${Version}\\n' goinfra-tool goinfra-hello goinfra-extra 2>/dev/null | sed -n 's/^.* installed|//p' | sort | tr '\\n' ' '; true")
	}
	if out, code := goinfra("inventory.star", "deploy.star", "--dry"); code != 0 || !strings.Contains(out, "change") {
		t.Fatalf("--dry: exit %d\n%s", code, out)
	}
	if got := installed(); got != "" {
		t.Fatalf("--dry installed %q", got)
	}
	if out, code := goinfra("inventory.star", "deploy.star", "-y"); code != 0 || strings.Contains(out, "No changes") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	if got := installed(); got != "goinfra-hello=1.0 goinfra-tool=1.0" {
		t.Fatalf("first run installed %q", got)
	}
	if out, code := goinfra("inventory.star", "deploy.star", "-y"); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\"\n%s", code, out)
	}
}
