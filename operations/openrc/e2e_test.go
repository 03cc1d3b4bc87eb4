package openrc_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/openrc"
)

// openrcDebs are Debian 12's OpenRC and what it needs beyond the test
// image's packages.
var openrcDebs = []string{"openrc", "librc1", "libeinfo1", "insserv", "libreadline8", "readline-common"}

// sleeper is an openrc-run service whose daemon is a sleep.
const sleeper = `#!/sbin/openrc-run
description="goinfra test daemon"
command=/bin/sleep
command_args=100000
command_background=yes
pidfile=/run/gi-sleeper.pid
`

// openrcHost is the Debian test container with Debian's openrc package
// installed (fetched with apt-get download from the machine's
// configured mirror, as the image itself is built). OpenRC does not boot
// the container (sleep is PID 1): the softlevel file tells rc-service
// to act all the same, as on a host OpenRC booted.
func openrcHost(t *testing.T) *optest.Host {
	t.Helper()
	debs := t.TempDir()
	cmd := exec.Command("apt-get", append([]string{"download", "-q"}, openrcDebs...)...)
	cmd.Dir = debs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download %s: %v: %s", strings.Join(openrcDebs, " "), err, out)
	}
	h := optest.Container(t, "-v", debs+":/debs:ro")
	optest.Run(t, h, "dpkg -i /debs/*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }; mkdir -p /run/openrc && touch /run/openrc/softlevel")
	return h
}

// TestServiceInContainer runs openrc.service with a service of the
// test's: started and added to the default runlevel, no change the
// second time; stopped; deleted from the runlevel; a service outside
// the runlevel started once only; restarted and reloaded only when it
// runs.
func TestServiceInContainer(t *testing.T) {
	h := openrcHost(t)
	// OpenRC trusts its dependency cache while no init script is newer
	// to the second: a script written in the second the cache was made
	// (dpkg made it just before) stays out of rc-status until the cache
	// is renewed, as after any package install with rc-update -u.
	optest.Run(t, h, "cat >/etc/init.d/gi-sleeper <<'EOF'\n"+sleeper+"EOF\nchmod 755 /etc/init.d/gi-sleeper && rc-update -u >/dev/null 2>&1")
	status := "rc-service gi-sleeper status >/dev/null 2>&1 && echo started || echo stopped"

	on := map[string]any{"service": "gi-sleeper", "running": true, "enabled": true}
	p := optest.Converge(t, h, "openrc.service", on)
	if d := optest.Describe(p); d != "rc-service gi-sleeper start; rc-update add gi-sleeper default" {
		t.Errorf("first run: %s", d)
	}
	if got := optest.Run(t, h, status+"; rc-update show default | grep -c gi-sleeper"); got != "started\n1" {
		t.Errorf("after start and enable: %q", got)
	}
	st, err := openrc.OpenrcStatus.Get(optest.Ctx(t), h, "default")
	if err != nil || !st["gi-sleeper"] {
		t.Errorf("openrc.OpenrcStatus: %v %v", st, err)
	}
	en, err := openrc.OpenrcEnabled.Get(optest.Ctx(t), h, "default")
	if err != nil || !en["gi-sleeper"] || en["savecache"] {
		t.Errorf("openrc.OpenrcEnabled: %v %v", en, err)
	}

	p = optest.Converge(t, h, "openrc.service", map[string]any{"service": "gi-sleeper", "running": false, "enabled": false})
	if d := optest.Describe(p); d != "rc-service gi-sleeper stop; rc-update del gi-sleeper default" {
		t.Errorf("stop and disable: %s", d)
	}
	if got := optest.Run(t, h, status+"; rc-update show default | grep -c gi-sleeper || true"); got != "stopped\n0" {
		t.Errorf("after stop and disable: %q", got)
	}

	// Outside the runlevel rc-status default does not list it: its
	// status comes from rc-service, so a second run changes nothing.
	p = optest.Converge(t, h, "openrc.service", map[string]any{"service": "gi-sleeper"})
	if d := optest.Describe(p); d != "rc-service gi-sleeper start" {
		t.Errorf("start outside the runlevel: %s", d)
	}
	pid := optest.Run(t, h, "cat /run/gi-sleeper.pid")
	p = optest.Plan(t, h, "openrc.service", map[string]any{"service": "gi-sleeper", "restarted": true})
	if d := optest.Describe(p); d != "rc-service gi-sleeper restart" {
		t.Errorf("restart: %s", d)
	}
	optest.Apply(t, h, p)
	if got := optest.Run(t, h, "cat /run/gi-sleeper.pid; "+status); got == pid+"\nstarted" || !strings.HasSuffix(got, "\nstarted") {
		t.Errorf("after restart (pid was %s): %q", pid, got)
	}
	optest.Converge(t, h, "openrc.service", map[string]any{"service": "gi-sleeper", "running": false})
	// Stopped, it is not restarted; an unknown service is an error only
	// when it should run.
	optest.NoChange(t, h, "openrc.service", map[string]any{"service": "gi-sleeper", "running": nil, "restarted": true, "reloaded": true})
	optest.NoChange(t, h, "openrc.service", map[string]any{"service": "gi-none", "running": false})
	if _, err := optest.TryPlan(t, h, "openrc.service", map[string]any{"service": "gi-none"}); err == nil || !strings.Contains(err.Error(), "gi-none") {
		t.Errorf("start of an unknown service: %v", err)
	}
}
