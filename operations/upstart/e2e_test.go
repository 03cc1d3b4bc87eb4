package upstart_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/server"
	"github.com/goinfra-dev/goinfra/operations/upstart"
)

// fakeInitctl stands in for upstart's initctl (no upstart for Debian 12):
// it keeps each job's state in /run/fake-upstart/JOB, lists jobs as
// initctl list does and logs every other command.
const fakeInitctl = `#!/bin/sh
S=/run/fake-upstart
mkdir -p $S
case "$1" in
list)
  for f in $S/*; do
    [ -f "$f" ] && [ "${f##*/}" != log ] || continue
    if [ "$(cat "$f")" = running ]; then echo "${f##*/} start/running, process 42"; else echo "${f##*/} stop/waiting"; fi
  done ;;
start) echo running >"$S/$2" ;;
stop) echo waiting >"$S/$2" ;;
esac
[ "$1" = list ] || echo "$*" >>$S/log
`

// TestServiceInContainer runs upstart.service's commands through a real
// shell, against a fake initctl, and its override file through the
// docker connector's upload: started and disabled, no change the second
// time; enabled (the override removed); restarted every time; and
// server.service on the host, which initctl makes an upstart host.
func TestServiceInContainer(t *testing.T) {
	h := optest.Container(t)
	optest.Run(t, h, "cat >/usr/local/sbin/initctl <<'EOF'\n"+fakeInitctl+"EOF\nchmod 755 /usr/local/sbin/initctl; mkdir -p /etc/init /run/fake-upstart; echo waiting >/run/fake-upstart/gi-job")

	p := optest.Converge(t, h, "upstart.service", map[string]any{"service": "gi-job", "enabled": false})
	if d := optest.Describe(p); d != "initctl start gi-job; upload (manual) to /etc/init/gi-job.override" {
		t.Errorf("first run: %s", d)
	}
	if got := optest.Run(t, h, "cat /etc/init/gi-job.override"); got != "manual" {
		t.Errorf("override: %q", got)
	}
	st, err := upstart.UpstartStatus.Get(optest.Ctx(t), h)
	if err != nil || !st["gi-job"] {
		t.Errorf("upstart.UpstartStatus: %v %v", st, err)
	}
	p = optest.Converge(t, h, "upstart.service", map[string]any{"service": "gi-job", "running": false, "enabled": true})
	if d := optest.Describe(p); d != "initctl stop gi-job; rm -f /etc/init/gi-job.override" {
		t.Errorf("stop and enable: %s", d)
	}
	optest.Run(t, h, "test ! -e /etc/init/gi-job.override")
	optest.Converge(t, h, "upstart.service", map[string]any{"service": "gi-job"})
	for i := 0; i < 2; i++ {
		p = optest.Plan(t, h, "upstart.service", map[string]any{"service": "gi-job", "restarted": true, "command": "emit"})
		if d := optest.Describe(p); d != "initctl restart gi-job; initctl emit gi-job" {
			t.Errorf("restart, run %d: %s", i+1, d)
		}
		optest.Apply(t, h, p)
	}

	// initctl makes it an upstart host: server.service is upstart.service.
	if v, err := server.InitSystem.Get(optest.Ctx(t), h); err != nil || v != server.Upstart {
		t.Errorf("server.InitSystem: %q %v", v, err)
	}
	p = optest.Converge(t, h, "server.service", map[string]any{"service": "gi-job", "running": false, "enabled": false})
	if d := optest.Describe(p); d != "initctl stop gi-job; upload (manual) to /etc/init/gi-job.override" {
		t.Errorf("server.service: %s", d)
	}
	want := "start gi-job\nstop gi-job\nstart gi-job\nrestart gi-job\nemit gi-job\nrestart gi-job\nemit gi-job\nstop gi-job"
	if got := optest.Run(t, h, "cat /run/fake-upstart/log"); got != want {
		t.Errorf("initctl ran:\n%s\nwant:\n%s", got, want)
	}
}
