// Package sshtest connects to the servers of an sshfleet test fleet through
// the ssh connector, for the tests of code built on top of it (operations,
// facts, deploys).
package sshtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/ssh"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// Data is the host data that logs in to s as user with the fleet's key and
// known hosts, strict host key checking, no agent and an empty ssh config
// (nothing from the machine's own).
func Data(t testing.TB, f *sshfleet.Fleet, s *sshfleet.Server, user string) connector.Data {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return connector.Data{
		ssh.KeyHostname:              s.Host,
		ssh.KeyPort:                  s.Port,
		ssh.KeyUser:                  user,
		ssh.KeyKey:                   f.KeyFile,
		ssh.KeyKnownHostsFile:        f.KnownHostsFile,
		ssh.KeyStrictHostKeyChecking: "yes",
		ssh.KeyConfigFile:            cfg,
		ssh.KeyAllowAgent:            false,
	}
}

// Connect opens and connects s as user (with Data); the connection is
// closed when the test ends.
func Connect(t testing.TB, f *sshfleet.Fleet, s *sshfleet.Server, user string) (connector.Conn, connector.Data) {
	t.Helper()
	data := Data(t, f, s, user)
	raw, err := ssh.Driver{}.Open(&connector.Host{Name: s.Name, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	// As the engine does: escalation is the layer's, not the connector's.
	conn := escalate.Wrap(raw, escalate.Config{Host: s.Name})
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := conn.Connect(ctx); err != nil {
		t.Fatalf("connecting to %s: %v", s.Name, err)
	}
	return conn, data
}
