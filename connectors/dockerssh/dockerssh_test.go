package dockerssh_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/dockerssh"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestDockerSSH runs the shared engine suite through a real OpenSSH server
// (an sshfleet sshd process on loopback, which reaches this machine's
// Docker socket as root).
func TestDockerSSH(t *testing.T) {
	cli := dockertest.Client(t)
	f := sshfleet.Start(t, sshfleet.Options{Mode: sshfleet.Processes})
	srv := f.Servers[0]
	e := &dockertest.Engine{
		Kind:   "dockerssh",
		Cli:    cli,
		Data:   map[string]any{"ssh_config_file": f.SSHConfigFile},
		Target: func(name string) string { return srv.Name + ":" + name },
	}
	dockertest.Suite(t, e, "ImageBuild", "FailedRunCommitsNothing", "ExistingContainersLeftAsFound", "TimeoutLeavesNoProcess", "BigFileRoundTrip", "Conformance")

	t.Run("BadInput", func(t *testing.T) {
		// A socket that is not there: a connect error naming the host.
		c, _ := e.Open(t, "x", map[string]any{"dockerssh_socket": "/nonexistent/docker.sock"})
		err := c.Connect(context.Background())
		if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "@dockerssh/"+srv.Name+":x") ||
			!strings.Contains(err.Error(), "no Docker engine socket /nonexistent/docker.sock on ") {
			t.Errorf("missing remote socket: %v", err)
		}
		c.Close()
	})

	t.Run("SocketPermission", func(t *testing.T) {
		// The fleet's deploy user is not in the docker group of this
		// machine's socket (root:docker, mode 660): sshd cannot open it
		// for them ("Permission denied" in its log).
		if out, err := srv.Exec(context.Background(), "su -s /bin/sh "+sshfleet.DeployUser+" -c 'test -w /var/run/docker.sock' && echo usable"); err == nil && strings.Contains(out, "usable") {
			t.Skip("the deploy user may open this machine's Docker socket")
		}
		c, _ := e.Open(t, "x", map[string]any{"ssh_user": sshfleet.DeployUser})
		err := c.Connect(context.Background())
		c.Close()
		if !errors.Is(err, connector.ErrConnect) {
			t.Fatalf("socket the user may not open: %v", err)
		}
		for _, want := range []string{"ssh user " + sshfleet.DeployUser + " may not open the Docker engine socket /var/run/docker.sock on ", "permission denied", "docker group"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "Is the docker daemon running?") {
			t.Errorf("error %q blames the daemon", err)
		}
	})

	// Last: it reconfigures the server.
	t.Run("ForwardingForbidden", func(t *testing.T) {
		if err := srv.Configure(nil, "AllowStreamLocalForwarding no"); err != nil {
			t.Fatal(err)
		}
		c, _ := e.Open(t, "x", nil)
		err := c.Connect(context.Background())
		c.Close()
		if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "sshd does not allow forwarding to a socket (AllowStreamLocalForwarding") {
			t.Errorf("stream forwarding forbidden: %v", err)
		}
	})
}

func TestExpand(t *testing.T) {
	drv, _ := connector.Lookup("dockerssh")
	for _, bad := range []string{"", "host", ":image", "host:"} {
		if _, err := drv.Expand(context.Background(), bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	ts, err := drv.Expand(context.Background(), "web1:alpine:3.19")
	if err != nil || ts[0].Name != "@dockerssh/web1:alpine:3.19" || ts[0].Data["docker_identifier"] != "alpine:3.19" || ts[0].Data["dockerssh_host"] != "web1" {
		t.Errorf("expand: %+v %v", ts, err)
	}
}
