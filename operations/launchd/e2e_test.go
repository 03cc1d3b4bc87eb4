package launchd_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/launchd"
)

// fakeLaunchctl stands in for macOS's launchctl: it keeps each job's
// PID (or -) in /run/fake-launchd/LABEL, lists them as launchctl list
// does and logs every other command.
const fakeLaunchctl = `#!/bin/sh
S=/run/fake-launchd
mkdir -p $S
case "$1" in
list)
  echo "PID	Status	Label"
  for f in $S/*; do [ "${f##*/}" != log ] && printf '%s\t0\t%s\n' "$(cat "$f")" "${f##*/}"; done ;;
start) echo 4242 >"$S/$2" ;;
stop) echo - >"$S/$2" ;;
esac
[ "$1" = list ] || echo "$*" >>$S/log
`

// TestServiceInContainer runs launchd.service's commands through a real
// shell against a fake launchctl: started, no change the second time;
// restarted (stop and start) every time; stopped.
func TestServiceInContainer(t *testing.T) {
	h := optest.Container(t)
	optest.Run(t, h, "cat >/usr/local/bin/launchctl <<'EOF'\n"+fakeLaunchctl+"EOF\nchmod 755 /usr/local/bin/launchctl; mkdir -p /run/fake-launchd; echo - >/run/fake-launchd/dev.goinfra.job")

	label := "dev.goinfra.job"
	p := optest.Converge(t, h, "launchd.service", map[string]any{"service": label})
	if d := optest.Describe(p); d != "launchctl start dev.goinfra.job" {
		t.Errorf("first run: %s", d)
	}
	st, err := launchd.LaunchdStatus.Get(optest.Ctx(t), h)
	if err != nil || !st[label] || len(st) != 1 {
		t.Errorf("launchd.LaunchdStatus: %v %v", st, err)
	}
	for i := 0; i < 2; i++ {
		p = optest.Plan(t, h, "launchd.service", map[string]any{"service": label, "restarted": true})
		if d := optest.Describe(p); d != "launchctl stop dev.goinfra.job; launchctl start dev.goinfra.job" {
			t.Errorf("restart, run %d: %s", i+1, d)
		}
		optest.Apply(t, h, p)
	}
	optest.Converge(t, h, "launchd.service", map[string]any{"service": label, "running": false})
	optest.NoChange(t, h, "launchd.service", map[string]any{"service": label, "running": false, "restarted": true})
	want := "start dev.goinfra.job\nstop dev.goinfra.job\nstart dev.goinfra.job\nstop dev.goinfra.job\nstart dev.goinfra.job\nstop dev.goinfra.job"
	if got := optest.Run(t, h, "cat /run/fake-launchd/log"); got != want {
		t.Errorf("launchctl ran:\n%s\nwant:\n%s", got, want)
	}
}
