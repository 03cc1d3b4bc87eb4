package server_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// fakeInitd is an LSB init script around a real daemon (sleep), managed
// with start-stop-daemon and a pid file.
const fakeInitd = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          gifake
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: goinfra test service
### END INIT INFO
PIDFILE=/run/gifake.pid
case "$1" in
start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 100000 ;;
stop) start-stop-daemon --stop --quiet --oknodo --remove-pidfile --pidfile $PIDFILE --exec /bin/sleep ;;
restart) "$0" stop && "$0" start && echo restarted >>/run/gifake.log ;;
reload) echo reloaded >>/run/gifake.log ;;
status) start-stop-daemon --status --pidfile $PIDFILE --exec /bin/sleep ;;
*) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 3 ;;
esac
`

// containerHost is a Debian container of the fleet, which runs no
// systemd: its services are sysvinit's.
func containerHost(t *testing.T) *optest.Host {
	t.Helper()
	h, _ := fleetHost(t, sshfleet.Containers)
	if optest.Run(t, h, "test -d /run/systemd/system && echo systemd || echo none") != "none" {
		testenv.Skip(t, "the fleet does not run in containers")
	}
	return h
}

// TestSysvinitService manages a real init script in a Debian container:
// start and enable, stop and disable, restart and reload only what runs.
func TestSysvinitService(t *testing.T) {
	h := containerHost(t)
	optest.Run(t, h, "cat >/etc/init.d/gifake <<'EOF'\n"+fakeInitd+"EOF\nchmod 755 /etc/init.d/gifake")
	if v, err := server.InitSystem.Get(optest.Ctx(t), h); err != nil || v != server.SysVinit {
		t.Fatalf("init system %v %v", v, err)
	}
	status := func() string {
		return optest.Run(t, h, "/etc/init.d/gifake status >/dev/null && echo running || echo stopped; ls /etc/rc2.d | grep gifake || true")
	}
	d := optest.Describe(optest.Converge(t, h, "server.service", map[string]any{"service": "gifake", "enabled": true}))
	if d != "/etc/init.d/gifake start; update-rc.d gifake defaults; update-rc.d gifake enable" {
		t.Errorf("start and enable: %s", d)
	}
	if got := status(); got != "running\nS01gifake" {
		t.Fatalf("after start: %q", got)
	}
	// Running: restart and reload (every time, as in pyinfra).
	p := optest.Plan(t, h, "server.service", map[string]any{"service": "gifake", "restarted": true, "reloaded": true})
	if d := optest.Describe(p); d != "/etc/init.d/gifake restart; /etc/init.d/gifake reload" {
		t.Errorf("restart and reload: %s", d)
	}
	optest.Apply(t, h, p)
	if got := optest.Run(t, h, "cat /run/gifake.log"); got != "restarted\nreloaded" {
		t.Errorf("log %q", got)
	}
	d = optest.Describe(optest.Converge(t, h, "server.service", map[string]any{"service": "gifake", "running": false, "enabled": false}))
	if d != "/etc/init.d/gifake stop; update-rc.d gifake disable" {
		t.Errorf("stop and disable: %s", d)
	}
	if got := status(); got != "stopped\nK01gifake" {
		t.Fatalf("after stop: %q", got)
	}
	// Stopped: nothing to restart; running=None leaves it stopped.
	optest.NoChange(t, h, "server.service", map[string]any{"service": "gifake", "running": nil, "restarted": true, "enabled": nil})
	// Enabled again after a disable (stop links back to start links).
	optest.Converge(t, h, "server.service", map[string]any{"service": "gifake", "enabled": true})
	if got := status(); got != "running\nS01gifake" {
		t.Fatalf("after enabling again: %q", got)
	}
	optest.Converge(t, h, "server.service", map[string]any{"service": "gifake", "running": false})

	_, err := optest.TryPlan(t, h, "server.service", map[string]any{"service": "gi-missing"})
	if !errors.Is(err, server.ErrNoService) {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := optest.TryPlan(t, h, "server.service", map[string]any{"service": "a;b"}); err == nil {
		t.Error("service a;b: no error")
	}
}

// fakeSystemctl and fakeOpenRC stand in for the tools in a container
// (no systemd or OpenRC can run there): they keep the service's state in
// files and answer queries as the real tools do.
const fakeSystemctl = `#!/bin/sh
S=/run/fake-systemd
mkdir -p $S
case "$1" in
show)
  shift; while [ "$1" != "--" ]; do shift; done; u=$2
  if [ "$u" != gisvc ]; then echo LoadState=not-found; echo ActiveState=inactive; echo UnitFileState=; exit 0; fi
  echo LoadState=loaded
  echo ActiveState=$(cat $S/active 2>/dev/null || echo inactive)
  echo UnitFileState=$(cat $S/file 2>/dev/null || echo disabled) ;;
start) echo active >$S/active ;;
stop) echo inactive >$S/active ;;
enable) echo enabled >$S/file ;;
disable) echo disabled >$S/file ;;
*) echo "$*" >>$S/log ;;
esac
`

const fakeRCService = `#!/bin/sh
S=/run/fake-openrc
mkdir -p $S
if [ "$1" = -e ]; then [ "$2" = gisvc ]; exit; fi
case "$2" in
status) [ -f $S/started ] ;;
start) touch $S/started ;;
stop) rm -f $S/started ;;
*) echo "$*" >>$S/log ;;
esac
`

const fakeRCUpdate = `#!/bin/sh
S=/run/fake-openrc
mkdir -p $S
case "$1" in
show) [ -f $S/enabled ] && echo "                gisvc | default"; echo "                 sshd | default" ;;
add) touch $S/enabled ;;
del) rm -f $S/enabled ;;
esac
`

// TestDetectedInitSystems: with systemctl and a running systemd
// (/run/systemd/system), or with OpenRC's rc-service, server.service
// drives those tools, and their answers make the second plan empty.
func TestDetectedInitSystems(t *testing.T) {
	h := containerHost(t)
	install := func(name, script string) {
		optest.Run(t, h, "cat >/usr/local/bin/"+name+" <<'EOF'\n"+script+"EOF\nchmod 755 /usr/local/bin/"+name)
	}
	install("rc-service", fakeRCService)
	install("rc-update", fakeRCUpdate)
	if v, _ := server.InitSystem.Get(optest.Ctx(t), h); v != server.OpenRC {
		t.Fatalf("with rc-service: %v", v)
	}
	d := optest.Describe(optest.Converge(t, h, "server.service", map[string]any{"service": "gisvc", "enabled": true}))
	if d != "rc-service gisvc start; rc-update add gisvc default" {
		t.Errorf("openrc: %s", d)
	}
	d = optest.Describe(optest.Converge(t, h, "server.service", map[string]any{"service": "gisvc", "running": false, "enabled": false}))
	if d != "rc-service gisvc stop; rc-update del gisvc default" {
		t.Errorf("openrc: %s", d)
	}
	if _, err := optest.TryPlan(t, h, "server.service", map[string]any{"service": "other"}); !errors.Is(err, server.ErrNoService) {
		t.Errorf("openrc unknown service: %v", err)
	}

	// systemctl alone is not enough: systemd must run.
	install("systemctl", fakeSystemctl)
	if v, _ := server.InitSystem.Get(optest.Ctx(t), h); v != server.OpenRC {
		t.Fatalf("systemctl without a running systemd: %v", v)
	}
	optest.Run(t, h, "mkdir -p /run/systemd/system")
	if v, _ := server.InitSystem.Get(optest.Ctx(t), h); v != server.Systemd {
		t.Fatalf("with a running systemd: %v", v)
	}
	d = optest.Describe(optest.Converge(t, h, "server.service", map[string]any{"service": "gisvc", "enabled": true}))
	if d != "systemctl start gisvc; systemctl enable gisvc" {
		t.Errorf("systemd: %s", d)
	}
	st, err := server.ServiceStatus.Get(optest.Ctx(t), h, server.Service{Init: server.Systemd, Name: "gisvc"})
	if err != nil || st == nil || !*st.Running || !*st.Enabled {
		t.Errorf("status %+v %v", st, err)
	}
	optest.Apply(t, h, optest.Plan(t, h, "server.service", map[string]any{"service": "gisvc", "reloaded": true, "command": "try-restart"}))
	if got := optest.Run(t, h, "cat /run/fake-systemd/log"); got != "reload gisvc\ntry-restart gisvc" {
		t.Errorf("reload and command: %q", got)
	}
	if _, err := optest.TryPlan(t, h, "server.service", map[string]any{"service": "other"}); !errors.Is(err, server.ErrNoService) || !strings.Contains(err.Error(), "other") {
		t.Errorf("systemd unknown unit: %v", err)
	}
}
