package optest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/docker" // the docker kind Container connects with
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// Container starts the fleet's Debian image (sshfleet.ImageTag, built
// when the engine lacks it) in a container of the test's own, running
// sleep as PID 1 (no init system), with dockerArgs added to docker run,
// and connects to it as root with goinfra's docker connector. The
// container is removed when t ends. It skips t without a Docker engine.
func Container(t testing.TB, dockerArgs ...string) *Host {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		testenv.Skip(t, "no Docker engine answers: %v", err)
	}
	// Building the image takes minutes on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := sshfleet.EnsureImage(ctx); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"run", "-d", "--rm"}, dockerArgs...), sshfleet.ImageTag, "sleep", "3600")
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	drv, ok := connector.Lookup("docker")
	if !ok {
		t.Fatal("the docker connector kind is not registered")
	}
	conn, err := drv.(connector.Opener).Open(&connector.Host{Name: "@docker/" + id, Data: connector.Data{"docker_identifier": id}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(Ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Host{HostName: "@docker/" + id, Conn: conn, Dir: t.TempDir()}
}
