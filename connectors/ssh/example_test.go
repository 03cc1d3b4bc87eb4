package ssh_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/ssh"
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
	raw, err := kind.(connector.Opener).Open(host)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The escalation layer feeds sudo its password and moves files as
	// another user; the connection itself only transports.
	conn := escalate.Wrap(raw, escalate.Config{Host: host.Name})
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Connect(ctx); err != nil {
		return // e.g. errors.Is(err, connector.ErrHostKey)
	}
	res, _ := conn.Run(ctx, command.Shell("uptime"), connector.Options{})
	fmt.Println(res.Stdout())
	_ = conn.Put(ctx, strings.NewReader("hello\n"), "/etc/motd", connector.Options{Unix: command.Unix{Sudo: true}})
}

// Resolve asks OpenSSH's own client how it would reach a host: Host and
// Match blocks, Include, tokens, first match wins.
func ExampleResolve() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config")
	_ = os.WriteFile(cfg, []byte(`
Host web*
  User deploy
  ProxyJump bastion.example.com
Match originalhost web2
  HostName 10.0.0.2
  Port 2222
Host *
  ConnectTimeout 7
`), 0o600)
	s, err := ssh.Resolve(context.Background(), "web2", "", 0, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.User, s.HostName, s.Port, s.ProxyJump, s.ConnectTimeout)
	// ssh_options win over the file, as `ssh -o` does.
	s, _ = ssh.Resolve(context.Background(), "web2", "", 0, cfg, []string{"ProxyJump=none"})
	fmt.Printf("%q\n", s.ProxyJump)
	// Output:
	// deploy 10.0.0.2 2222 bastion.example.com 7s
	// ""
}

// Forward listens locally and forwards each connection through the host
// (local port forwarding, like ssh -L).
func ExampleConn_Forward() {
	kind, _ := connector.Lookup(connector.DefaultKind)
	conn, err := kind.(connector.Opener).Open(&connector.Host{Name: "db1.example.com", Data: connector.Data{}})
	if err != nil {
		return
	}
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Connect(ctx); err != nil {
		return
	}
	// The database on the host's loopback, on a free local port.
	fwd, err := conn.(connector.Forwarder).Forward(ctx, "127.0.0.1:0", "127.0.0.1:5432")
	if err != nil {
		return
	}
	defer fwd.Close()
	fmt.Println("connect to", fwd.(interface{ Addr() net.Addr }).Addr())
}

// ssh_pipelining (ssh.KeyPipelining) is a host data key like any other:
// declared with its default, type-checked when a host is opened.
func Example_pipelining() {
	for _, k := range (ssh.Driver{}).DataKeys() {
		if k.Name == ssh.KeyPipelining {
			fmt.Println(k.Name, k.Type, k.Default)
		}
	}
	_, err := ssh.Driver{}.Open(&connector.Host{Name: "web1", Data: connector.Data{ssh.KeyPipelining: "off"}})
	fmt.Println(err != nil)
	// Output:
	// ssh_pipelining bool true
	// true
}
