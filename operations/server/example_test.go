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
