package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// argHost answers facts by "name" or "name k=v" (one argument).
type argHost map[string]any

func (argHost) Name() string         { return "web1" }
func (argHost) Data() connector.Data { return connector.Data{} }
func (h argHost) Fact(_ context.Context, name string, a facts.Args) (any, error) {
	for k, v := range a {
		if x, ok := h[name+" "+k+"="+v]; ok {
			return x, nil
		}
	}
	return h[name], nil
}

func plan(t *testing.T, h argHost, name string, args map[string]any) (string, error) {
	t.Helper()
	op, ok := operations.Lookup(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		return "", err
	}
	p, err := op.Plan(context.Background(), h, checked)
	if err != nil {
		return "", err
	}
	var l []string
	for _, s := range p.Steps {
		l = append(l, s.Describe())
	}
	return strings.Join(l, "; "), nil
}

// TestPlanEdges: what the pyinfra fixtures do not cover, where goinfra
// decides deliberately.
func TestPlanEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		host argHost
		op   string
		args map[string]any
		want string // the steps, or "error: TEXT" for an error containing TEXT
	}{
		{"sysctl 0 is compared", argHost{"server.Sysctl": map[string]any{"net.ipv4.ip_forward": 0}},
			"server.sysctl", map[string]any{"key": "net.ipv4.ip_forward", "value": 0}, ""},
		{"sysctl list as text", argHost{"server.Sysctl": map[string]any{"net.ipv4.ip_local_port_range": []any{1024, 65000}}},
			"server.sysctl", map[string]any{"key": "net.ipv4.ip_local_port_range", "value": "1024\t65000"}, ""},
		{"sysctl quoting", argHost{"server.Sysctl": map[string]any{}},
			"server.sysctl", map[string]any{"key": "kernel.core_pattern", "value": "|/bin/x 'a'"}, `sysctl kernel.core_pattern='|/bin/x '"'"'a'"'"''`},
		{"sysctl bad key", argHost{}, "server.sysctl", map[string]any{"key": "a;b", "value": 1}, "error: not a sysctl name"},
		{"hostname file off", argHost{"server.Hostname": "old", "server.Os": "Linux"},
			"server.hostname", map[string]any{"hostname": "new", "hostname_file": false}, "hostname new"},
		{"hostname file up to date", argHost{"server.Hostname": "new", "server.Os": "Linux", "files.FileContents": ptr("new\n")},
			"server.hostname", map[string]any{"hostname": "new"}, ""},
		{"hostname invalid", argHost{}, "server.hostname", map[string]any{"hostname": "a b"}, "error: not a host name"},
		{"modprobe dashes", argHost{"server.KernelModules": map[string]*server.ModuleInfo{"i2c_piix4": {}}},
			"server.modprobe", map[string]any{"module": "i2c-piix4"}, ""},
		{"mount options present", argHost{"server.Mounts": map[string]*server.MountInfo{"/data": {Options: []string{"rw", "noatime"}}}},
			"server.mount", map[string]any{"path": "/data", "options": []any{"noatime"}}, ""},
		{"security_limit wildcard", argHost{"files.FileContents": ptr("* soft nofile 1024\n")},
			"server.security_limit", map[string]any{"domain": "*", "limit_type": "soft", "item": "nofile", "value": 1024}, "upload (edited /etc/security/limits.conf) to /etc/security/limits.conf"},
		{"packages other manager", argHost{"server.Which command=zypper": "/usr/bin/zypper"},
			"server.packages", map[string]any{"packages": "vim"}, "error: zypper, which goinfra does not support"},
		{"packages none", argHost{}, "server.packages", map[string]any{"packages": "vim"}, "error: no system package manager found"},
		{"crontab special time kept", argHost{"server.Crontab": map[string]*server.CronEntry{"x": {SpecialTime: "@daily"}}},
			"server.crontab", map[string]any{"command": "x", "special_time": "@daily"}, ""},
		{"crontab zero padded", argHost{"server.Crontab": map[string]*server.CronEntry{"x": {Minute: "00", Hour: "*", Month: "*", DayOfMonth: "*", DayOfWeek: "*"}}},
			"server.crontab", map[string]any{"command": "x", "minute": 0}, ""},
		{"crontab interpolate", argHost{}, "server.crontab", map[string]any{"command": "x", "interpolate_variables": true}, "error: interpolate_variables"},
		{"crontab bad user", argHost{}, "server.crontab", map[string]any{"command": "x", "user": "a b"}, "error: not a valid user name"},
		{"locale missing file", argHost{}, "server.locale", map[string]any{"locale": "de_DE.UTF-8"}, "error: not found in /etc/locale.gen"},
		{"locale removed already commented", argHost{"server.Locales": []string{"de_DE.UTF-8"}, "files.FindInFile": []string{"# de_DE.UTF-8 UTF-8"}},
			"server.locale", map[string]any{"locale": "de_DE.UTF-8", "present": false}, "locale-gen"},
		{"timezone set", argHost{"server.Timezone": "Etc/UTC"}, "server.timezone", map[string]any{"timezone": "Etc/UTC"}, ""},
		{"timezone systemd", argHost{"server.Timezone": "Etc/UTC", "files.File": &files.RegularInfo{}, "server.InitSystem": server.Systemd},
			"server.timezone", map[string]any{"timezone": "Asia/Tokyo"}, "timedatectl set-timezone Asia/Tokyo"},
		{"timezone old name", argHost{"files.File": &files.RegularInfo{NotFile: true, Type: "symbolic link"}},
			"server.timezone", map[string]any{"timezone": "US/Pacific"}, "ln -sf /usr/share/zoneinfo/US/Pacific /etc/localtime"},
		{"timezone freebsd", argHost{"server.Timezone": "UTC", "files.File": &files.RegularInfo{},
			"files.FileContents path=/var/db/zoneinfo": ptr("UTC\n")},
			"server.timezone", map[string]any{"timezone": "Asia/Tokyo"},
			`ln -sf /usr/share/zoneinfo/Asia/Tokyo /etc/localtime; upload ("Asia/Tokyo") to /var/db/zoneinfo`},
		{"timezone directory", argHost{"files.File": &files.RegularInfo{NotFile: true, Type: "directory"}},
			"server.timezone", map[string]any{"timezone": "Europe"}, "error: the host has no /usr/share/zoneinfo/Europe"},
		{"timezone bad name", argHost{}, "server.timezone", map[string]any{"timezone": "../../etc/passwd"}, "error: not a time zone name"},
		{"wait bad port", argHost{}, "server.wait", map[string]any{"port": 70000}, "error: not a port number"},
	} {
		got, err := plan(t, c.host, c.op, c.args)
		if want, ok := strings.CutPrefix(c.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q, %v; want an error with %q", c.name, got, err, want)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func ptr(s string) *string { return &s }
