package bsdinit_test

import (
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/bsdinit"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// rcScript is an rc.d script as a port installs one, reduced to the
// commands bsdinit.service runs; its daemon is a sleep that
// start-stop-daemon (the container is Debian) keeps by a pid file.
const rcScript = `#!/bin/sh
PIDFILE=/run/gi-sleeper.pid
case "$1" in
start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 100000 ;;
stop) start-stop-daemon --stop --quiet --remove-pidfile --pidfile $PIDFILE --exec /bin/sleep ;;
status) start-stop-daemon --status --pidfile $PIDFILE --exec /bin/sleep ;;
restart|reload) "$0" stop; "$0" start ;;
*) echo "usage: $0 start|stop|status|restart|reload" >&2; exit 3 ;;
esac
`

// TestServiceInContainer runs bsdinit.service's commands through a real
// shell (a Debian container: the commands are plain sh) with a script
// in /usr/local/etc/rc.d, as a port's: started and enabled, no change
// the second time; stopped and disabled; the facts read back; and
// server.service on it as a BSD host.
func TestServiceInContainer(t *testing.T) {
	h := optest.Container(t)
	optest.Run(t, h, "mkdir -p /usr/local/etc/rc.d && cat >/usr/local/etc/rc.d/gi-sleeper <<'EOF'\n"+rcScript+"EOF\n"+
		"chmod 755 /usr/local/etc/rc.d/gi-sleeper && printf '%s\\n' 'sshd_enable=\"YES\"' 'gi-sleeper_enable=\"NO\" # off' >/etc/rc.conf")
	status := "/usr/local/etc/rc.d/gi-sleeper status && echo running || echo stopped"

	p := optest.Converge(t, h, "bsdinit.service", map[string]any{"service": "gi-sleeper", "enabled": true})
	if d := optest.Describe(p); d != "test -e /etc/rc.d/gi-sleeper && /etc/rc.d/gi-sleeper start || /usr/local/etc/rc.d/gi-sleeper start; "+
		"upload (edited /etc/rc.conf.local) to /etc/rc.conf.local" {
		t.Errorf("first run: %s", d)
	}
	if got := optest.Run(t, h, status+"; cat /etc/rc.conf.local"); got != "running\ngi-sleeper_enable=\"YES\"" {
		t.Errorf("after start and enable: %q", got)
	}
	en, err := bsdinit.RcdEnabled.Get(optest.Ctx(t), h)
	if err != nil || !en["gi-sleeper"] || !en["sshd"] || len(en) != 2 {
		t.Errorf("bsdinit.RcdEnabled: %v %v", en, err)
	}
	st, err := bsdinit.RcdStatus.Get(optest.Ctx(t), h, nil)
	if err != nil || st["gi-sleeper"] == nil || !*st["gi-sleeper"] || len(st) != 1 {
		t.Errorf("bsdinit.RcdStatus of every script: %v %v", st, err)
	}

	optest.Apply(t, h, optest.Plan(t, h, "bsdinit.service", map[string]any{"service": "gi-sleeper", "reloaded": true, "command": "status"}))
	p = optest.Converge(t, h, "bsdinit.service", map[string]any{"service": "gi-sleeper", "running": false, "enabled": false})
	if d := optest.Describe(p); !strings.HasPrefix(d, "test -e /etc/rc.d/gi-sleeper && /etc/rc.d/gi-sleeper stop || /usr/local/etc/rc.d/gi-sleeper stop; upload") {
		t.Errorf("stop and disable: %s", d)
	}
	if got := optest.Run(t, h, status+"; wc -c </etc/rc.conf.local"); got != "stopped\n0" {
		t.Errorf("after stop and disable: %q", got)
	}
	en, err = bsdinit.RcdEnabled.Get(optest.Ctx(t), h)
	if err != nil || en["gi-sleeper"] {
		t.Errorf("bsdinit.RcdEnabled after disable (rc.conf says NO): %v %v", en, err)
	}

	// A host that is no Linux with /etc/rc.d is a BSD init host (uname
	// is faked: the container is Linux): server.service is
	// bsdinit.service there.
	optest.Run(t, h, "mkdir -p /etc/rc.d && printf '#!/bin/sh\necho FreeBSD\n' >/usr/local/bin/uname && chmod 755 /usr/local/bin/uname")
	if v, err := server.InitSystem.Get(optest.Ctx(t), h); err != nil || v != server.BSDInit {
		t.Errorf("server.InitSystem: %q %v", v, err)
	}
	p = optest.Converge(t, h, "server.service", map[string]any{"service": "gi-sleeper", "enabled": true})
	if d := optest.Describe(p); d != "test -e /etc/rc.d/gi-sleeper && /etc/rc.d/gi-sleeper start || /usr/local/etc/rc.d/gi-sleeper start; "+
		"upload (edited /etc/rc.conf.local) to /etc/rc.conf.local" {
		t.Errorf("server.service: %s", d)
	}
}

func TestParseEnabled(t *testing.T) {
	got := bsdinit.ParseEnabled([]string{
		`sshd_enable="YES"`, `nginx_enable=yes # web`, `# ntpd_enable="YES"`, `ntpd_enable="NO"`,
		`hostname="box"`, `  cron_enable='YES'`, `nginx_enable="NO"`, `_enable="YES"`,
	})
	want := map[string]bool{"sshd": true, "ntpd": false, "cron": true, "nginx": false}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
}
