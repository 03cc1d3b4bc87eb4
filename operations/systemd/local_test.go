package systemd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/systemd"
)

// fakeSystemctl stands in for systemctl (no systemd runs PID 1 here): it
// keeps each unit's SubState and UnitFileState in files under $STATE,
// answers show as systemctl does (Id= and the property asked, a blank
// line between units), and logs every other command with its options.
const fakeSystemctl = `#!/bin/sh
S=$STATE
opts=
while :; do case "$1" in --user|--machine=*) opts="$opts $1"; shift ;; *) break ;; esac; done
cmd=$1; shift
case "$cmd" in
show)
  prop=
  while [ "$1" != "${1#-}" ]; do
    if [ "$1" = --property ]; then [ "$2" = Id ] || prop=$2; shift; fi
    shift
  done
  for u in "$@"; do
    printf 'Id=%s\n' "$u"
    case "$prop" in
    SubState) echo "SubState=$(cat "$S/$u.sub" 2>/dev/null || echo dead)" ;;
    UnitFileState) echo "UnitFileState=$(cat "$S/$u.file" 2>/dev/null || echo disabled)" ;;
    esac
    echo
  done ;;
start) echo running >"$S/$1.sub" ;;
stop) echo dead >"$S/$1.sub" ;;
enable) echo enabled >"$S/$1.file" ;;
disable) echo disabled >"$S/$1.file" ;;
esac
printf '%s\n' "$opts $cmd $*" >>"$S/log"
`

// TestServiceLocal runs systemd.service's commands through a real shell
// on @local against a fake systemctl: start and enable, stop and disable
// a unit whose name needs quoting, each a change first and no
// change the second time; restart, reload and daemon-reload every time.
func TestServiceLocal(t *testing.T) {
	h := optest.Local(t, "the systemd test runs a fake systemctl through @local's shell as root")
	bin, state := filepath.Join(h.Dir, "bin"), filepath.Join(h.Dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	h.Opts = connector.Options{Unix: command.Unix{Env: map[string]string{
		"PATH": bin + ":" + os.Getenv("PATH"), "STATE": state}}}
	unit := `gi-fake@a\x2db` // a template instance, escaped as systemd escapes: the backslash needs quoting

	d := optest.Describe(optest.Converge(t, h, "systemd.service", map[string]any{"service": unit, "enabled": true, "user_mode": true}))
	if d != "systemctl --user start 'gi-fake@a\\x2db.service'; systemctl --user enable 'gi-fake@a\\x2db.service'" {
		t.Errorf("start and enable: %s", d)
	}
	st, err := systemd.SystemdStatus.Get(optest.Ctx(t), h, systemd.Units{Manager: systemd.Manager{UserMode: true}, Services: []string{unit + ".service"}})
	if err != nil || !st[unit+".service"] {
		t.Errorf("systemd.SystemdStatus %v %v", st, err)
	}
	p := optest.Plan(t, h, "systemd.service", map[string]any{"service": unit + ".service", "restarted": true, "reloaded": true,
		"daemon_reload": true, "command": "kill --signal=HUP", "machine": "box", "user_name": "app"})
	optest.Apply(t, h, p)
	d = optest.Describe(optest.Converge(t, h, "systemd.service", map[string]any{"service": unit, "running": false, "enabled": false}))
	if d != "systemctl stop 'gi-fake@a\\x2db.service'; systemctl disable 'gi-fake@a\\x2db.service'" {
		t.Errorf("stop and disable: %s", d)
	}
	optest.Apply(t, h, optest.Plan(t, h, "systemd.daemon_reload", map[string]any{"user_name": "app"}))
	b, err := os.ReadFile(filepath.Join(state, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, " show ") {
			acts = append(acts, strings.TrimSpace(l))
		}
	}
	want := []string{
		"--user start gi-fake@a\\x2db.service", "--user enable gi-fake@a\\x2db.service",
		"--machine=app@box daemon-reload", "--machine=app@box restart gi-fake@a\\x2db.service",
		"--machine=app@box reload gi-fake@a\\x2db.service", "--machine=app@box kill --signal=HUP gi-fake@a\\x2db.service",
		"stop gi-fake@a\\x2db.service", "disable gi-fake@a\\x2db.service",
		"--machine=app@.host daemon-reload",
	}
	if strings.Join(acts, "\n") != strings.Join(want, "\n") {
		t.Errorf("systemctl ran:\n%s\nwant:\n%s", strings.Join(acts, "\n"), strings.Join(want, "\n"))
	}
}
