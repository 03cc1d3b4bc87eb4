package ssh_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/ssh"
)

// Open a host through the registry, as the engine does: host data (and the
// ssh config file) say how to reach it.
func Example() {
	kind, _ := connector.Lookup(connector.DefaultKind) // "ssh"
	targets, _ := kind.Expand(context.Background(), "web1.example.com")
	host := &connector.Host{Name: targets[0].Name, Data: connector.Data{
		"ssh_user":                     "deploy",
		"ssh_key":                      "~/.ssh/id_ed25519",
		"ssh_strict_host_key_checking": "yes",
		"ssh_options":                  map[string]any{"ProxyJump": "bastion.example.com"},
	}}
	conn, err := kind.(connector.Opener).Open(host)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Connect(ctx); err != nil {
		return // e.g. errors.Is(err, connector.ErrHostKey)
	}
	res, _ := conn.Run(ctx, command.Shell("uptime"), connector.Options{})
	fmt.Println(res.Stdout())
	_ = conn.Put(ctx, strings.NewReader("hello\n"), "/etc/motd", connector.Options{Unix: command.Unix{Sudo: true}})
}
