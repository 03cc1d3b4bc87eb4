package server_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// exampleHost answers facts from a map keyed by fact name.
type exampleHost map[string]any

func (exampleHost) Name() string         { return "web1" }
func (exampleHost) Data() connector.Data { return connector.Data{} }
func (h exampleHost) Fact(_ context.Context, name string, _ facts.Args) (any, error) {
	return h[name], nil
}

// server.user plans from the server.Users fact: useradd for a missing
// user, usermod for what differs, nothing when all matches.
func Example_user() {
	op, _ := operations.Lookup("server.user")
	args, _ := operations.CheckArgs(op, map[string]any{"user": "app", "shell": "/bin/bash", "ensure_home": false})
	home, sh := "/home/app", "/bin/sh"
	for _, users := range []map[string]*server.UserInfo{
		{},
		{"app": {Home: &home, Shell: &sh, Group: "app"}},
	} {
		p, err := op.Plan(context.Background(), exampleHost{"server.Users": users, "server.Groups": []string{"app"}}, args)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, s := range p.Steps {
			fmt.Println(s.Describe())
		}
	}
	// Output:
	// useradd -d /home/app -s /bin/bash -g app -M app
	// usermod -s /bin/bash app
}

// server.service detects the init system and changes only what differs
// from the service's status.
func Example_service() {
	op, _ := operations.Lookup("server.service")
	args, _ := operations.CheckArgs(op, map[string]any{"service": "nginx", "enabled": true})
	yes, no := true, false
	h := exampleHost{
		"server.InitSystem":    server.Systemd,
		"server.ServiceStatus": &server.ServiceState{Running: &yes, Enabled: &no},
	}
	p, _ := op.Plan(context.Background(), h, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// systemctl enable nginx
}

// ParseOsRelease gives pyinfra's LinuxDistribution value.
func ExampleParseOsRelease() {
	d := server.ParseOsRelease([]string{`NAME="Debian GNU/Linux"`, `ID=debian`, `VERSION_ID="12"`, `VERSION="12 (bookworm)"`})
	fmt.Println(*d.Name, *d.Major, d.Minor, d.ReleaseMeta["CODENAME"])
	// Output:
	// Debian 12 <nil> bookworm
}

// server.modprobe loads only the modules /proc/modules does not list.
func Example_modprobe() {
	op, _ := operations.Lookup("server.modprobe")
	args, _ := operations.CheckArgs(op, map[string]any{"module": []any{"br_netfilter", "overlay"}})
	h := exampleHost{"server.KernelModules": map[string]*server.ModuleInfo{"overlay": {Size: "151552", State: "Live"}}}
	p, _ := op.Plan(context.Background(), h, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// modprobe -a br_netfilter
}

// ParseCrontab gives pyinfra's Crontab value: entries by command, with
// the comments above them.
func ExampleParseCrontab() {
	cron := server.ParseCrontab([]string{"# pyinfra-name=backup", "0 3 * * 1-5 /usr/local/bin/backup", "@reboot /usr/local/bin/warm"})
	b := cron["/usr/local/bin/backup"]
	fmt.Println(b.Minute, b.Hour, b.DayOfWeek, b.Comments)
	fmt.Println(cron["/usr/local/bin/warm"].SpecialTime)
	// Output:
	// 0 3 1-5 [# pyinfra-name=backup]
	// @reboot
}

// EditCrontab is what server.crontab does to the crontab when it runs:
// here it replaces the times of an entry, then adds a named one.
func ExampleEditCrontab() {
	text := "MAILTO=ops\n* * * * * /usr/bin/true\n"
	text = server.EditCrontab(text, "/usr/bin/true", "*/5 * * * * /usr/bin/true", "")
	text = server.EditCrontab(text, "", "@daily /usr/local/bin/rotate", "rotate")
	fmt.Print(text)
	// Output:
	// MAILTO=ops
	// */5 * * * * /usr/bin/true
	//
	// # pyinfra-name=rotate
	// @daily /usr/local/bin/rotate
}

// ParseSysctl reads sysctl's lines: numbers, text, and lists of them.
func ExampleParseSysctl() {
	v := server.ParseSysctl([]string{"net.ipv4.ip_forward = 1", "fs.inode-state = 44565 360 0", "kernel.core_pattern = |/usr/lib/systemd/systemd-coredump %P"})
	fmt.Println(v["net.ipv4.ip_forward"], v["fs.inode-state"], v["kernel.core_pattern"])
	// Output:
	// 1 [44565 360 0] |/usr/lib/systemd/systemd-coredump %P
}
