package sysvinit_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	_ "github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/sysvinit"
)

// sleeper is an LSB init script whose daemon is a sleep that
// start-stop-daemon starts in the background and finds by its pid file.
const sleeper = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          gi-sleeper
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: goinfra test daemon
### END INIT INFO
PIDFILE=/run/gi-sleeper.pid
case "$1" in
start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 100000 ;;
stop) start-stop-daemon --stop --quiet --remove-pidfile --pidfile $PIDFILE --exec /bin/sleep ;;
status) start-stop-daemon --status --pidfile $PIDFILE --exec /bin/sleep ;;
restart) "$0" stop; "$0" start ;;
*) echo "usage: $0 start|stop|status|restart" >&2; exit 3 ;;
esac
`

// TestServiceInContainer runs sysvinit.service on a Debian container
// with an init script of the test's: started and enabled, then no change
// the second time; stopped; disabled and enabled again; and the links
// sysvinit.enable makes.
func TestServiceInContainer(t *testing.T) {
	h := optest.Container(t)
	optest.Run(t, h, "cat >/etc/init.d/gi-sleeper <<'EOF'\n"+sleeper+"EOF\nchmod 755 /etc/init.d/gi-sleeper")
	running := "/etc/init.d/gi-sleeper status >/dev/null && echo running || echo stopped"
	links := "ls /etc/rc?.d | grep -c gi-sleeper || true"

	on := map[string]any{"service": "gi-sleeper", "running": true, "enabled": true}
	p := optest.Converge(t, h, "sysvinit.service", on)
	if d := optest.Describe(p); d != "/etc/init.d/gi-sleeper start; update-rc.d gi-sleeper defaults" {
		t.Errorf("first run: %s", d)
	}
	if got := optest.Run(t, h, running+"; ls /etc/rc0.d /etc/rc2.d | grep gi-sleeper"); got != "running\nK01gi-sleeper\nS01gi-sleeper" {
		t.Errorf("after start and enable: %q", got)
	}
	st, err := sysvinit.InitdStatus.Get(optest.Ctx(t), h, nil)
	if err != nil || st["gi-sleeper"] == nil || !*st["gi-sleeper"] {
		t.Errorf("sysvinit.InitdStatus of every script: %v %v", st, err)
	}

	p = optest.Converge(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper", "running": false})
	if d := optest.Describe(p); d != "/etc/init.d/gi-sleeper stop" {
		t.Errorf("stop: %s", d)
	}
	if got := optest.Run(t, h, running); got != "stopped" {
		t.Errorf("after stop: %q", got)
	}

	// Disabled as pyinfra does (its start links removed), then enabled
	// again: update-rc.d defaults alone would keep the stop links only.
	optest.Converge(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper", "running": nil, "enabled": false})
	if got := optest.Run(t, h, "ls /etc/rc?.d | grep gi-sleeper | tr '\\n' ' '"); got != "K01gi-sleeper K01gi-sleeper K01gi-sleeper" {
		t.Errorf("after disable: %q", got)
	}
	p = optest.Converge(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper", "running": nil, "enabled": true})
	if d := optest.Describe(p); d != "update-rc.d -f gi-sleeper remove; update-rc.d gi-sleeper defaults" {
		t.Errorf("enable again: %s", d)
	}
	if got := optest.Run(t, h, links); got != "7" {
		t.Errorf("links after enabling again: %s", got)
	}

	// restarted and command run every time, on a running service.
	optest.Converge(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper"})
	pid := optest.Run(t, h, "cat /run/gi-sleeper.pid")
	p = optest.Plan(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper", "restarted": true})
	if d := optest.Describe(p); d != "/etc/init.d/gi-sleeper restart" {
		t.Errorf("restart: %s", d)
	}
	optest.Apply(t, h, p)
	if got := optest.Run(t, h, "cat /run/gi-sleeper.pid; "+running); got == pid+"\nrunning" || !strings.HasSuffix(got, "running") {
		t.Errorf("after restart (pid was %s): %q", pid, got)
	}
	optest.Converge(t, h, "sysvinit.service", map[string]any{"service": "gi-sleeper", "running": false})

	// sysvinit.enable's links, for a service without any.
	optest.Run(t, h, "update-rc.d -f gi-sleeper remove")
	p = optest.Converge(t, h, "sysvinit.enable", map[string]any{"service": "gi-sleeper", "start_levels": []any{3, 5}, "stop_levels": []any{0}})
	if len(p.Steps) != 3 {
		t.Errorf("sysvinit.enable: %s", optest.Describe(p))
	}
	if got := optest.Run(t, h, "readlink /etc/rc3.d/S20gi-sleeper /etc/rc5.d/S20gi-sleeper /etc/rc0.d/K80gi-sleeper"); got != "/etc/init.d/gi-sleeper\n/etc/init.d/gi-sleeper\n/etc/init.d/gi-sleeper" {
		t.Errorf("links: %q", got)
	}
	l, err := sysvinit.RcLinks.Get(optest.Ctx(t), h, "gi-sleeper")
	if err != nil || strings.Join(l.Start, " ") != "/etc/rc3.d/S20gi-sleeper /etc/rc5.d/S20gi-sleeper" || strings.Join(l.Stop, " ") != "/etc/rc0.d/K80gi-sleeper" {
		t.Errorf("sysvinit.RcLinks: %+v %v", l, err)
	}
}

// TestServiceThroughBinary runs sysvinit.service with the real binary on
// the container (@docker/ID): the first run starts and enables the
// service, the second reports no change, running=False stops it.
func TestServiceThroughBinary(t *testing.T) {
	h := optest.Container(t)
	optest.Run(t, h, "cat >/etc/init.d/gi-sleeper <<'EOF'\n"+sleeper+"EOF\nchmod 755 /etc/init.d/gi-sleeper")
	bin := filepath.Join(t.TempDir(), "goinfra")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/goinfra: %v: %s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{h.HostName, "-y", "sysvinit.service", "gi-sleeper"}, args...)...)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("goinfra sysvinit.service gi-sleeper %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stderr.String()
	}
	if log := run("running=True", "enabled=True"); strings.Contains(log, "No changes") {
		t.Fatalf("first run changed nothing:\n%s", log)
	}
	if got := optest.Run(t, h, "/etc/init.d/gi-sleeper status && ls /etc/rc2.d | grep gi-sleeper"); got != "S01gi-sleeper" {
		t.Errorf("after the first run: %q", got)
	}
	if log := run("running=True", "enabled=True"); !strings.Contains(log, "No changes") {
		t.Errorf("second run:\n%s", log)
	}
	run("running=False")
	if got := optest.Run(t, h, "/etc/init.d/gi-sleeper status || echo stopped"); got != "stopped" {
		t.Errorf("after running=False: %q", got)
	}
}
