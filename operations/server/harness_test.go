package server_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	_ "github.com/goinfra-dev/goinfra/operations/apk"
	_ "github.com/goinfra-dev/goinfra/operations/dnf"
	_ "github.com/goinfra-dev/goinfra/operations/server"
	_ "github.com/goinfra-dev/goinfra/operations/yum"
)

// localHost is @local as root (the tests add users and groups).
func localHost(t testing.TB) *optest.Host {
	t.Helper()
	return optest.Local(t, "the server tests add users: run them as root")
}

// fleetHost starts one Debian sshd of the test fleet and connects to it
// as the passwordless-sudo user, with _sudo.
func fleetHost(t *testing.T, mode sshfleet.Mode) (*optest.Host, *sshfleet.Server) {
	t.Helper()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: mode})
	s := f.Servers[0]
	return optest.FleetSudo(t, f, s), s
}
