package apt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/apt"
)

// TestPackagesOnMock plans and applies apt.packages with no host: the
// apt.DebPackages fact runs its real command against a conntest.MockConn
// answering with dpkg-query's lines; only the missing package is
// installed, by one apt-get command. Without dpkg-query the plan fails.
func TestPackagesOnMock(t *testing.T) {
	ctx := context.Background()
	dpkg := conntest.Regexp(`^if command -v dpkg-query .* dpkg-query -W -f `)
	m := &conntest.MockConn{Host: "web1", T: t}
	m.On(dpkg, conntest.Response{Stdout: "install ok installed\tcurl\t7.88.1-10\ndeinstall ok config-files\tnginx\t1.22\n"})
	m.On(conntest.Prefix("export DEBIAN_FRONTEND=noninteractive && apt-get -y "), conntest.Response{Stdout: "Setting up nginx\n"})
	if err := m.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h := &optest.Host{HostName: "web1", Conn: m}
	p := optest.Plan(t, h, "apt.packages", map[string]any{"packages": []any{"curl", "nginx"}})
	if out := optest.Apply(t, h, p); out != "Setting up nginx" {
		t.Errorf("apply output %q", out)
	}
	cmds := m.Commands()
	want := "export DEBIAN_FRONTEND=noninteractive && apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install nginx"
	if len(cmds) != 2 || !dpkg.Match(cmds[0]) || cmds[1] != want {
		t.Errorf("commands %q, want the fact's and %q", cmds, want)
	}

	noDpkg := &conntest.MockConn{Host: "rhel1", T: t}
	noDpkg.On(dpkg, conntest.Response{Stdout: "goinfra: no dpkg-query\n"})
	if err := noDpkg.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := optest.TryPlan(t, &optest.Host{HostName: "rhel1", Conn: noDpkg}, "apt.packages", map[string]any{"packages": "nginx"})
	if !errors.Is(err, apt.ErrNoDpkg) {
		t.Errorf("without dpkg-query: %v", err)
	}
}
