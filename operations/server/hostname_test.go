package server_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// TestHostnameInContainer runs server.hostname on the fleet's Debian
// image in a container of its own that may set its name (CAP_SYS_ADMIN,
// in its own UTS namespace) and whose /etc/hostname is the image's file,
// not Docker's bind mount (which no file can be moved over), reached
// with goinfra's docker connector.
func TestHostnameInContainer(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		testenv.Skip(t, "no Docker engine answers: %v", err)
	}
	// Building the image takes minutes on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := sshfleet.EnsureImage(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "-d", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "apparmor=unconfined",
		sshfleet.ImageTag, "sleep", "3600").Output()
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	if out, err := exec.CommandContext(ctx, "docker", "exec", id, "umount", "/etc/hostname").CombinedOutput(); err != nil {
		t.Fatalf("umount /etc/hostname: %v: %s", err, out)
	}

	drv, _ := connector.Lookup("docker")
	conn, err := drv.(connector.Opener).Open(&connector.Host{Name: "@docker/" + id, Data: connector.Data{"docker_identifier": id}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := &optest.Host{HostName: "@docker/" + id, Conn: conn, Dir: t.TempDir()}

	p := optest.Converge(t, h, "server.hostname", map[string]any{"hostname": "gi-renamed.example"})
	if d := optest.Describe(p); !strings.HasPrefix(d, "hostname gi-renamed.example; upload") {
		t.Errorf("plan: %s", d)
	}
	if got := optest.Run(t, h, "uname -n; cat /etc/hostname"); got != "gi-renamed.example\ngi-renamed.example" {
		t.Fatalf("after the rename: %q", got)
	}
	// The file alone, when only it differs.
	optest.Run(t, h, "echo stale >/etc/hostname")
	p = optest.Converge(t, h, "server.hostname", map[string]any{"hostname": "gi-renamed.example"})
	if len(p.Steps) != 1 {
		t.Errorf("plan %s, want the file's upload alone", optest.Describe(p))
	}
	// hostname_file=False leaves the file alone.
	optest.Converge(t, h, "server.hostname", map[string]any{"hostname": "gi-other", "hostname_file": false})
	if got := optest.Run(t, h, "uname -n; cat /etc/hostname"); got != "gi-other\ngi-renamed.example" {
		t.Fatalf("after hostname_file=False: %q", got)
	}
}
