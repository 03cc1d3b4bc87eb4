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

// ownContainer starts the fleet's Debian image in a container of the
// test's own with CAP_SYS_ADMIN and CAP_NET_ADMIN, reached with goinfra's
// docker connector as root: there a test may set the container's name
// (its own UTS namespace), mount filesystems, and write the sysctls of
// its own network namespace (net.*), none of which reaches the machine
// the tests run on. /proc/sys is writable there: tests must write no
// other sysctl (kernel.* would be the machine's). Its /etc/hostname is
// the image's file, not Docker's bind mount (which no file can be moved
// over). (--privileged would do, but engines in restricted environments
// refuse it.)
func ownContainer(t *testing.T) *optest.Host {
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
	out, err := exec.CommandContext(ctx, "docker", "run", "-d", "--rm", "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
		"--security-opt", "apparmor=unconfined", sshfleet.ImageTag, "sleep", "3600").Output()
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	setup := "umount /etc/hostname && mount -o remount,rw /proc/sys"
	if out, err := exec.CommandContext(ctx, "docker", "exec", id, "sh", "-c", setup).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", setup, err, out)
	}
	drv, _ := connector.Lookup("docker")
	conn, err := drv.(connector.Opener).Open(&connector.Host{Name: "@docker/" + id, Data: connector.Data{"docker_identifier": id}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(optest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &optest.Host{HostName: "@docker/" + id, Conn: conn, Dir: t.TempDir()}
}

func TestHostnameInContainer(t *testing.T) {
	h := ownContainer(t)
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

func TestMountInContainer(t *testing.T) {
	h := ownContainer(t)
	optest.Run(t, h, "mkdir -p /mnt/gi")
	// Options are compared as mount lists them: size=1024k, not size=1m.
	args := map[string]any{"path": "/mnt/gi", "device": "tmpfs", "fs_type": "tmpfs", "options": []any{"size=1024k", "nosuid"}}
	p := optest.Converge(t, h, "server.mount", args)
	if d := optest.Describe(p); d != "mount -t tmpfs -o size=1024k,nosuid tmpfs /mnt/gi" {
		t.Errorf("plan: %s", d)
	}
	// An option the mount lacks: remounted with the options given.
	args["options"] = []any{"size=1024k", "nosuid", "noexec"}
	p = optest.Converge(t, h, "server.mount", args)
	if d := optest.Describe(p); d != "mount -o remount,size=1024k,nosuid,noexec /mnt/gi" {
		t.Errorf("plan: %s", d)
	}
	if got := optest.Run(t, h, "grep ' /mnt/gi ' /proc/mounts | cut -d' ' -f1,3,4"); got != "tmpfs tmpfs rw,nosuid,noexec,relatime,size=1024k" {
		t.Errorf("/proc/mounts: %q", got)
	}
	optest.Converge(t, h, "server.mount", map[string]any{"path": "/mnt/gi", "mounted": false})
	if got := optest.Run(t, h, "grep -c ' /mnt/gi ' /proc/mounts || true"); got != "0" {
		t.Errorf("still mounted: %q", got)
	}
}

// TestSysctlInContainer sets sysctls of the container's own network
// namespace, one value and a list, and persists them.
func TestSysctlInContainer(t *testing.T) {
	h := ownContainer(t)
	file := "/etc/sysctl.d/90-goinfra-test.conf"
	want := "1"
	if optest.Run(t, h, "sysctl -n net.ipv4.ip_forward") == "1" {
		want = "0"
	}
	p := optest.Converge(t, h, "server.sysctl", map[string]any{"key": "net.ipv4.ip_forward", "value": want, "persist": true, "persist_file": file})
	if d := optest.Describe(p); !strings.HasPrefix(d, "sysctl net.ipv4.ip_forward='"+want+"'; upload") {
		t.Errorf("plan: %s", d)
	}
	optest.Converge(t, h, "server.sysctl", map[string]any{"key": "net.ipv4.ip_local_port_range", "value": []any{20000, 30000}, "persist": true, "persist_file": file})
	if got := optest.Run(t, h, "sysctl -n net.ipv4.ip_forward net.ipv4.ip_local_port_range; cat "+file); got != want+"\n20000\t30000\nnet.ipv4.ip_forward = "+want+"\nnet.ipv4.ip_local_port_range = 20000 30000" {
		t.Fatalf("after setting: %q", got)
	}
	// The file is what the host reads at boot: sysctl -p gives the same.
	optest.Run(t, h, "sysctl -p "+file)
	optest.NoChange(t, h, "server.sysctl", map[string]any{"key": "net.ipv4.ip_local_port_range", "value": "20000 30000", "persist": true, "persist_file": file})
}
