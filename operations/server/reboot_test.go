package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// TestRebootFixture compares server.reboot's steps with pyinfra's case:
// its command, then the wait and reconnect. pyinfra's two other
// functions clear sudo state it keeps on the host (an askpass file) and
// in the connection; goinfra keeps none there (sudo reads its password on
// standard input), so they have no step.
func TestRebootFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "pyinfra", "operations", "server.reboot", "reboot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Commands []json.RawMessage `json:"commands"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range c.Commands {
		var fn []any
		var cmd struct {
			Command string `json:"command"`
		}
		switch {
		case json.Unmarshal(r, &fn) == nil:
			switch fn[0] {
			case "wait_and_reconnect":
				want = append(want, "wait 10s, then reconnect every 1s for up to 300s")
			case "remove_any_askpass_file", "clean_sudo_info":
			default:
				t.Fatalf("unknown function %v", fn[0])
			}
		case json.Unmarshal(r, &cmd) == nil:
			want = append(want, cmd.Command)
		default:
			t.Fatalf("command %s", r)
		}
	}
	p := optest.Plan(t, &optest.Host{HostName: "fixture"}, "server.reboot", map[string]any{})
	if got := optest.Describe(p); got != strings.Join(want, "; ") {
		t.Errorf("steps %q\nwant  %q", got, strings.Join(want, "; "))
	} else {
		// The form of the fixture tests' counts (pyfixture.Tally.Log).
		t.Logf("server.reboot: 1 passed, 0 failed, 0 skipped")
	}
	for _, bad := range []map[string]any{{"interval": 0}, {"reboot_timeout": -1}, {"delay": -1}} {
		if _, err := optest.TryPlan(t, &optest.Host{HostName: "fixture"}, "server.reboot", bad); err == nil {
			t.Errorf("%v: planned", bad)
		}
	}
}

// downConn is a connection to a host that is down for its first fails
// connection attempts.
type downConn struct {
	*conntest.MockConn
	mu               sync.Mutex
	fails, tries     int
	closed, rebooted bool
}

// Rebooted implements connector.Rebooter.
func (c *downConn) Rebooted() { c.rebooted = true }

func (c *downConn) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries++
	if c.tries <= c.fails {
		return connector.Errorf("down", connector.ErrConnect, "connection refused")
	}
	return c.MockConn.Connect(ctx)
}

func (c *downConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.MockConn.Close()
}

// TestRebootReconnectFake: the wait step closes the connection and tries
// again every interval until the host answers, or reports the timeout
// naming the host.
func TestRebootReconnectFake(t *testing.T) {
	args := map[string]any{"delay": 0, "interval": 0.05, "reboot_timeout": 5}
	c := &downConn{MockConn: &conntest.MockConn{}, fails: 3}
	h := &optest.Host{HostName: "web1", Conn: c}
	p := optest.Plan(t, h, "server.reboot", args)
	if _, err := optest.Execute(t, h, p.Steps[1]); err != nil {
		t.Fatal(err)
	}
	if !c.closed || !c.rebooted || c.tries != 4 {
		t.Errorf("closed %v, told of the reboot %v, %d attempts; want closed, told and 4", c.closed, c.rebooted, c.tries)
	}

	// A second at 50 ms intervals: several attempts even on a busy machine.
	c = &downConn{MockConn: &conntest.MockConn{}, fails: 1 << 30}
	h.Conn = c
	args["reboot_timeout"] = 1.0
	p = optest.Plan(t, h, "server.reboot", args)
	_, err := optest.Execute(t, h, p.Steps[1])
	if !errors.Is(err, connector.ErrTimeout) || !strings.HasPrefix(err.Error(), "web1: ") || !strings.Contains(err.Error(), "reboot_timeout=1s") {
		t.Errorf("error %v: want a timeout naming web1 and reboot_timeout", err)
	}
	if c.tries < 2 {
		t.Errorf("%d attempts before the timeout", c.tries)
	}
}

// fakeReboot stands in for the container's reboot, first in sudo's PATH:
// it notes the reboot and kills every process but init — sshd and the
// session that runs it — as a shutdown would.
const fakeReboot = `#!/bin/sh
date +%s >/run/goinfra-rebooted
kill -KILL -1
`

// TestRebootFleet reboots a Debian container of the ssh fleet: the
// reboot command (a stand-in, see fakeReboot) kills sshd, the test keeps
// it down for a while and starts it again, and the operation returns only
// once it has connected to the new sshd. Then a reboot whose host stays
// down fails with the timeout, naming the host.
func TestRebootFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "server.reboot's test replaces the host's reboot command: it needs a Debian container (fleet runs %s)", f.Mode)
	}
	s := f.Servers[0]
	h := optest.FleetSudo(t, f, s)
	ctx := optest.Ctx(t)
	installFakeReboot(t, s, h)
	oldPid := pidOf(t, s)

	restarted := restartAfterReboot(t, s)
	p := optest.Plan(t, h, "server.reboot", map[string]any{"delay": 1, "interval": 1, "reboot_timeout": 120})
	optest.Apply(t, h, p)
	returned := time.Now()
	started, err := restarted()
	if err != nil {
		t.Fatal(err)
	}
	if returned.Before(started) {
		t.Errorf("server.reboot returned %v before sshd was started again", started.Sub(returned))
	}
	if newPid := pidOf(t, s); newPid == oldPid {
		t.Errorf("sshd's pid is still %s: it was not restarted", oldPid)
	}
	if got := optest.Run(t, h, "cat /run/goinfra-rebooted >/dev/null && echo back"); got != "back" {
		t.Errorf("after the reboot: %q", got)
	}

	// A host that does not come back.
	if _, err := s.Exec(ctx, "rm -f /run/goinfra-rebooted"); err != nil {
		t.Fatal(err)
	}
	p = optest.Plan(t, h, "server.reboot", map[string]any{"delay": 0, "interval": 1, "reboot_timeout": 3})
	if _, err := optest.Execute(t, h, p.Steps[0]); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	_, err = optest.Execute(t, h, p.Steps[1])
	if !errors.Is(err, connector.ErrTimeout) || !strings.HasPrefix(err.Error(), s.Name+": ") || !strings.Contains(err.Error(), "reboot_timeout=3s") {
		t.Errorf("error %v: want a timeout naming %s and reboot_timeout", err, s.Name)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
}

// installFakeReboot puts fakeReboot first in sudo's PATH on s and checks
// that the host finds it there (the real one must not run).
func installFakeReboot(t *testing.T, s *sshfleet.Server, h *optest.Host) {
	t.Helper()
	if _, err := s.Exec(optest.Ctx(t), "cat >/usr/local/sbin/reboot <<'EOF'\n"+fakeReboot+"EOF\nchmod 755 /usr/local/sbin/reboot"); err != nil {
		t.Fatal(err)
	}
	if got := optest.Run(t, h, "command -v reboot"); got != "/usr/local/sbin/reboot" {
		t.Fatalf("reboot is %q, not the stand-in: the test must not run it", got)
	}
}

// restartAfterReboot waits in the background for fakeReboot to run on
// s, then stops what is left, keeps sshd down for a few seconds (several
// reconnect attempts fail) and starts it. The function returned waits for
// that and tells when sshd was started.
func restartAfterReboot(t *testing.T, s *sshfleet.Server) func() (time.Time, error) {
	const down = 4 * time.Second
	ctx := optest.Ctx(t)
	var started time.Time
	done := make(chan error, 1)
	go func() {
		// Generous: the command may be slow to run on a busy machine.
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, err := s.Exec(ctx, "test -e /run/goinfra-rebooted"); err == nil {
				if err := s.Stop(); err != nil {
					done <- err
					return
				}
				time.Sleep(down)
				started = time.Now()
				done <- s.Start()
				return
			}
		}
		done <- errors.New("the reboot command did not run")
	}()
	return func() (time.Time, error) {
		err := <-done
		return started, err
	}
}

func pidOf(t *testing.T, s *sshfleet.Server) string {
	t.Helper()
	out, err := s.Exec(optest.Ctx(t), "cat /run/sshd.pid")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestRebootDeployThroughBinary reboots the container from a deploy file
// with the real binary: the operation after the reboot runs on the new
// connection.
func TestRebootDeployThroughBinary(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "server.reboot's test replaces the host's reboot command: it needs a Debian container (fleet runs %s)", f.Mode)
	}
	s := f.Servers[0]
	h := optest.FleetSudo(t, f, s)
	installFakeReboot(t, s, h)
	oldPid := pidOf(t, s)
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
server.reboot(name="Reboot", delay=1, interval=1, reboot_timeout=120, _sudo=True)
server.shell(name="After", commands=["test -e /run/goinfra-rebooted && cat /run/sshd.pid >/run/goinfra-after"], _sudo=True)
`)
	restarted := restartAfterReboot(t, s)
	stdout, stderr, code := goinfra(t, bin, dir, "inventory.star", "deploy.star", "-y")
	if _, err := restarted(); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, stdout, stderr)
	}
	newPid := pidOf(t, s)
	after, err := s.Exec(optest.Ctx(t), "cat /run/goinfra-after")
	if newPid == oldPid || strings.TrimSpace(after) != newPid {
		t.Errorf("sshd %s (was %s), the operation after the reboot saw %q (%v)", newPid, oldPid, after, err)
	}
	// The reboot command's lost session is no command to stop later:
	// after a real reboot its process group would be another's.
	if strings.Contains(stderr, "may still run") {
		t.Errorf("a stop of the reboot command was kept:\n%s", stderr)
	}
}
