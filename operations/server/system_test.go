package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/server"

	_ "github.com/goinfra-dev/goinfra/operations/apt"
)

// debianHost is a Debian container of the ssh fleet (its image has cron,
// locales and net-tools, and an offline apt repository with hello),
// reached as the passwordless-sudo user with _sudo.
func debianHost(t *testing.T) *optest.Host {
	t.Helper()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "the server system tests need a Debian container (fleet runs %s)", f.Mode)
	}
	return optest.FleetSudo(t, f, f.Servers[0])
}

// TestSystemOperations runs the operations a container lets a test run
// on a Debian host: each first plan changes it, the second plans nothing,
// and the host shows the result. server.hostname, server.mount and
// setting a sysctl need rights the fleet's containers do not have: they
// run in a container of their own (container_test.go). server.modprobe
// would load modules into the kernel of the machine the tests run on:
// its commands are checked by the pyinfra fixtures (fixtures_test.go),
// and here only that the fact it reads plans no change where none is
// due.
func TestSystemOperations(t *testing.T) {
	h := debianHost(t)

	t.Run("packages", func(t *testing.T) {
		optest.Converge(t, h, "server.packages", map[string]any{"packages": []any{"hello"}})
		if got := optest.Run(t, h, "hello"); got != "Hello, world!" {
			t.Fatalf("hello after install: %q", got)
		}
		optest.Converge(t, h, "server.packages", map[string]any{"packages": "hello", "present": false})
		if got := optest.Run(t, h, "command -v hello || echo gone"); got != "gone" {
			t.Fatalf("hello after remove: %q", got)
		}
	})

	t.Run("crontab", func(t *testing.T) {
		user := sshfleet.DeployUser
		list := func() string { return optest.Run(t, h, "crontab -l -u "+user+" 2>/dev/null || true") }
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true first", "user": user, "minute": 5})
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "echo 'a b' >/dev/null", "user": user, "special_time": "@daily"})
		if got := list(); got != "5 * * * * /usr/bin/true first\n@daily echo 'a b' >/dev/null" {
			t.Fatalf("crontab after adding two: %q", got)
		}
		// Changed times replace the line; a list is joined by commas.
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true first", "user": user, "minute": 0, "hour": []any{1, 13}})
		// A named entry: a new command replaces the old one of the name.
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true v1", "user": user, "cron_name": "job", "day_of_week": 0})
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true v2", "user": user, "cron_name": "job", "day_of_week": 0})
		if got := list(); got != "0 1,13 * * * /usr/bin/true first\n@daily echo 'a b' >/dev/null\n\n# pyinfra-name=job\n* * * * 0 /usr/bin/true v2" {
			t.Fatalf("crontab after edits: %q", got)
		}
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true v2", "user": user, "cron_name": "job", "present": false})
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "echo 'a b' >/dev/null", "user": user, "present": false})
		if got := list(); got != "0 1,13 * * * /usr/bin/true first" {
			t.Fatalf("crontab after removals: %q", got)
		}
		// The user commands run as (root, through sudo), without a crontab.
		optest.Converge(t, h, "server.crontab", map[string]any{"command": "/usr/bin/true root"})
		if got := optest.Run(t, h, "crontab -l"); got != "* * * * * /usr/bin/true root" {
			t.Fatalf("root's crontab: %q", got)
		}
	})

	t.Run("locale", func(t *testing.T) {
		optest.Converge(t, h, "server.locale", map[string]any{"locale": "fr_FR.UTF-8"})
		if got := optest.Run(t, h, "locale -a | grep fr_FR; grep '^fr_FR' /etc/locale.gen"); got != "fr_FR.utf8\nfr_FR.UTF-8 UTF-8" {
			t.Fatalf("after adding fr_FR.UTF-8: %q", got)
		}
		optest.Converge(t, h, "server.locale", map[string]any{"locale": "fr_FR.UTF-8", "present": false})
		if got := optest.Run(t, h, "locale -a | grep fr_FR; grep 'fr_FR.UTF-8' /etc/locale.gen"); got != "# fr_FR.UTF-8 UTF-8" {
			t.Fatalf("after removing fr_FR.UTF-8: %q", got)
		}
		if _, err := optest.TryPlan(t, h, "server.locale", map[string]any{"locale": "xx_NOPE.UTF-8"}); err == nil || !strings.Contains(err.Error(), "not found in /etc/locale.gen") {
			t.Errorf("unknown locale: %v", err)
		}
	})

	t.Run("security_limit", func(t *testing.T) {
		args := map[string]any{"domain": "@gi", "limit_type": "soft", "item": "nofile", "value": 4096}
		optest.Converge(t, h, "server.security_limit", args)
		args["value"] = "unlimited"
		optest.Converge(t, h, "server.security_limit", args)
		optest.Converge(t, h, "server.security_limit", map[string]any{"domain": "*", "limit_type": "hard", "item": "nofile", "value": 8192})
		if got := optest.Run(t, h, "grep -v '^#' /etc/security/limits.conf | grep ."); got != "@gi\tsoft\tnofile\tunlimited\n*\thard\tnofile\t8192" {
			t.Fatalf("limits.conf: %q", got)
		}
		limits, err := server.SecurityLimits.Get(optest.Ctx(t), h)
		if err != nil || len(limits) != 2 || limits[1] != (server.SecurityLimit{Domain: "*", LimitType: "hard", Item: "nofile", Value: "8192"}) {
			t.Errorf("server.SecurityLimits: %+v, %v", limits, err)
		}
	})

	t.Run("sysctl", func(t *testing.T) {
		// The container's /proc/sys is read-only: the value stays, and
		// only the persisted line changes.
		max := optest.Run(t, h, "sysctl -n kernel.pid_max")
		file := "/etc/sysctl.d/90-goinfra-test.conf"
		optest.Run(t, h, "echo 'kernel.pid_max=1' >"+file)
		p := optest.Converge(t, h, "server.sysctl", map[string]any{"key": "kernel.pid_max", "value": max, "persist": true, "persist_file": file})
		if len(p.Steps) != 1 {
			t.Errorf("plan %s, want the file's upload alone", optest.Describe(p))
		}
		if got := optest.Run(t, h, "cat "+file); got != "kernel.pid_max = "+max {
			t.Fatalf("%s: %q", file, got)
		}
		v, err := server.Sysctl.Get(optest.Ctx(t), h, []string{"kernel.ostype", "fs.inode-state"})
		if err != nil || v["kernel.ostype"] != "Linux" {
			t.Fatalf("server.Sysctl: %v, %v", v, err)
		}
		if l, ok := v["fs.inode-state"].([]any); !ok || len(l) < 2 {
			t.Errorf("fs.inode-state: %#v, want a list", v["fs.inode-state"])
		}
	})

	t.Run("privileged", func(t *testing.T) {
		ctx := optest.Ctx(t)
		mounts, err := server.Mounts.Get(ctx, h)
		if err != nil || mounts["/"] == nil || mounts["/proc"] == nil || mounts["/proc"].Type != "proc" {
			t.Fatalf("server.Mounts: %v, %v", mounts, err)
		}
		optest.NoChange(t, h, "server.mount", map[string]any{"path": "/proc"})
		optest.NoChange(t, h, "server.mount", map[string]any{"path": "/mnt/not-mounted", "mounted": false})
		if _, err := server.KernelModules.Get(ctx, h); err != nil {
			t.Fatalf("server.KernelModules: %v", err)
		}
		optest.NoChange(t, h, "server.modprobe", map[string]any{"module": "gi_no_such_module", "present": false})
		name := optest.Run(t, h, "uname -n")
		optest.NoChange(t, h, "server.hostname", map[string]any{"hostname": name, "hostname_file": false})
	})

	t.Run("facts", func(t *testing.T) {
		ctx := optest.Ctx(t)
		locales, err := server.Locales.Get(ctx, h)
		if err != nil || !contains(locales, "C.UTF-8") {
			t.Errorf("server.Locales: %v, %v", locales, err)
		}
		se, err := server.Selinux.Get(ctx, h)
		if err != nil || se == nil || se.Mode != nil {
			t.Errorf("server.Selinux without sestatus: %+v, %v", se, err)
		}
		cron, err := server.Crontab.Get(ctx, h, "root")
		if err != nil || len(cron) == 0 {
			t.Errorf("server.Crontab of root: %v, %v", cron, err)
		}
	})

	t.Run("timezone", func(t *testing.T) {
		optest.Converge(t, h, "server.timezone", map[string]any{"timezone": "Europe/Paris"})
		if got := optest.Run(t, h, "readlink /etc/localtime; cat /etc/timezone; date +%Z"); got != "/usr/share/zoneinfo/Europe/Paris\nEurope/Paris\nCET" && got != "/usr/share/zoneinfo/Europe/Paris\nEurope/Paris\nCEST" {
			t.Fatalf("after setting Europe/Paris: %q", got)
		}
		optest.Converge(t, h, "server.timezone", map[string]any{"timezone": "Etc/UTC"})
		if _, err := optest.TryPlan(t, h, "server.timezone", map[string]any{"timezone": "Nowhere/City"}); err == nil || !strings.Contains(err.Error(), "has no /usr/share/zoneinfo/Nowhere/City") {
			t.Errorf("unknown zone: %v", err)
		}
	})

	t.Run("wait", func(t *testing.T) {
		// sshd listens on 22: the wait ends at once.
		optest.Apply(t, h, optest.Plan(t, h, "server.wait", map[string]any{"port": 22}))
		// Nothing listens on 2: the loop goes on until stopped. A few
		// seconds only tell that it did not end by itself.
		p := optest.Plan(t, h, "server.wait", map[string]any{"port": 2})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if res, err := operations.Execute(ctx, h.Conn, p.Steps[0], h.Opts); err == nil {
			t.Fatalf("waiting for port 2 ended: %+v", res)
		}
	})
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
