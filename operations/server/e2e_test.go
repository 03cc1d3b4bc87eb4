package server_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// buildGoinfra builds the real command (cmd/goinfra) into a temporary
// directory.
func buildGoinfra(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "goinfra")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/goinfra: %v: %s", err, out)
	}
	return bin
}

func goinfra(t *testing.T, bin, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// gone reports whether pid no longer runs (a zombie waiting for its
// parent to reap it counts as gone).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// TestDeployThroughBinary runs deploy files with the real binary on
// @local: server.group and server.user change the host once and then
// report "No changes"; _timeout on a long server.shell stops the command
// and what it started, and the host's later operations do not run.
func TestDeployThroughBinary(t *testing.T) {
	localHost(t) // root, or skip
	bin := buildGoinfra(t)
	dir := t.TempDir()
	grp, usr := uniqueName(t, "gieg"), uniqueName(t, "gieu")
	t.Cleanup(func() {
		exec.Command("userdel", usr).Run()
		exec.Command("groupdel", grp).Run()
		os.RemoveAll("/home/" + usr)
	})
	deploy := fmt.Sprintf(`server.group(name="Group", group=%q)
server.user(name="User", user=%q, group=%q, shell="/bin/sh")
`, grp, usr, grp)
	if err := os.WriteFile(filepath.Join(dir, "accounts.star"), []byte(deploy), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := goinfra(t, bin, dir, "@local", "accounts.star", "-y")
	if code != 0 || strings.Contains(stderr, "No changes") {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	if out, err := exec.Command("id", "-gn", usr).Output(); err != nil || strings.TrimSpace(string(out)) != grp {
		t.Fatalf("user after the deploy: %q %v", out, err)
	}
	_, stderr, code = goinfra(t, bin, dir, "@local", "accounts.star", "-y")
	if code != 0 || !strings.Contains(stderr, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\"\n%s", code, stderr)
	}

	pidFile, childFile, after := filepath.Join(dir, "pid"), filepath.Join(dir, "child"), filepath.Join(dir, "after")
	deploy = fmt.Sprintf(`server.shell(name="Long running command", commands=["echo $$ > %s; sleep 600 & echo $! > %s; wait"], _timeout=5)
server.shell(name="After", commands=["touch %s"])
`, pidFile, childFile, after)
	if err := os.WriteFile(filepath.Join(dir, "deploy.star"), []byte(deploy), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := goinfra(t, bin, dir, "@local", "deploy.star", "-y", "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(strings.ToLower(stdout+stderr), "timed out") && !strings.Contains(strings.ToLower(stdout+stderr), "timeout") {
		t.Errorf("no timeout reported:\n%s\n%s", stdout, stderr)
	}
	if _, err := os.Stat(after); err == nil {
		t.Error("the operation after the timed-out one ran")
	}
	for _, f := range []string{pidFile, childFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %q", f, b)
		}
		// The binary has exited: its stop is done, or nearly (the kernel
		// delivers the kill). Wait generously, never as a measure.
		deadline := time.Now().Add(time.Minute)
		for !gone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d (%s) still runs after the timeout", pid, filepath.Base(f))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestSystemDeployThroughBinary runs a deploy file of the new server
// operations with the real binary against a Debian container of the ssh
// fleet: --dry changes nothing, the first run changes the host, the
// second reports "No changes". A deploy reads hardware facts too.
func TestSystemDeployThroughBinary(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "the deploy test needs a Debian container (fleet runs %s)", f.Mode)
	}
	h := optest.FleetSudo(t, f, f.Servers[0])
	s := f.Servers[0]
	bin := buildGoinfra(t)
	dir := t.TempDir()
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
cpus = host.get_fact(hardware.Cpus)
server.crontab(name="Cron", command="/usr/bin/true deploy", minute=7, hour=[1, 13], _sudo=True)
server.timezone(name="Zone", timezone="Europe/Paris", _sudo=True)
server.locale(name="Locale", locale="de_DE.UTF-8", _sudo=True)
server.security_limit(name="Limit", domain="@gi", limit_type="hard", item="nproc", value=100 * cpus, _sudo=True)
server.sysctl(name="Persist", key="kernel.ostype", value="Linux", persist=True, persist_file="/etc/sysctl.d/90-gi.conf", _sudo=True)
server.packages(name="Hello", packages=["hello"], _sudo=True)
`)
	state := func() string {
		return optest.Run(t, h, "crontab -l 2>/dev/null; readlink /etc/localtime; locale -a | grep de_DE; grep '^@gi' /etc/security/limits.conf; "+
			"cat /etc/sysctl.d/90-gi.conf 2>/dev/null; command -v hello; true")
	}
	before := state()
	if _, stderr, code := goinfra(t, bin, dir, "inventory.star", "deploy.star", "--dry"); code != 0 {
		t.Fatalf("--dry: exit %d\n%s", code, stderr)
	}
	if got := state(); got != before {
		t.Fatalf("--dry changed the host: %q, was %q", got, before)
	}
	if _, stderr, code := goinfra(t, bin, dir, "inventory.star", "deploy.star", "-y"); code != 0 || strings.Contains(stderr, "No changes") {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	cpus := optest.Run(t, h, "getconf _NPROCESSORS_ONLN")
	n, _ := strconv.Atoi(cpus)
	want := fmt.Sprintf("7 1,13 * * * /usr/bin/true deploy\n/usr/share/zoneinfo/Europe/Paris\nde_DE.utf8\n@gi\thard\tnproc\t%d\nkernel.ostype = Linux\n/usr/bin/hello", 100*n)
	if got := state(); got != want {
		t.Fatalf("after the first run:\n%s\nwant\n%s", got, want)
	}
	if _, stderr, code := goinfra(t, bin, dir, "inventory.star", "deploy.star", "-y"); code != 0 || !strings.Contains(stderr, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\"\n%s", code, stderr)
	}
}
