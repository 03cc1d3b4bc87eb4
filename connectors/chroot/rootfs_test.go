//go:build linux

package chroot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// Users of the test root filesystem.
const (
	appUser  = "app"
	appUID   = "1234"
	appGID   = "1234"
	extraGID = "2345"
	appHome  = "/home/app"
)

// makeRootfs builds a small root filesystem from the host's static busybox:
// the binary, a symlink per applet, /etc/passwd and /etc/group with a
// non-root user, /tmp and a home directory. It takes a few milliseconds, so
// each test gets its own.
func makeRootfs(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Skip(t, "busybox (busybox-static) is not installed: %v", err)
	}
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		testenv.Skip(t, "busybox --list-full failed (not a full static busybox?): %v", err)
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home/app", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(root, "home/app"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(out)) {
		link := filepath.Join(root, applet)
		if applet == "bin/busybox" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	// sh gives background jobs /dev/null as stdin.
	if err := unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(root, "dev/null"), 0o666)
	writeFile(t, root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"+
		"app:x:1234:1234:App User:/home/app:/bin/sh\n"+
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
	writeFile(t, root, "etc/group", "root:x:0:\napp:x:1234:\nextra:x:2345:app\nnogroup:x:65534:\n")
	return root
}

func writeFile(t testing.TB, root, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "chroot tests need root (running as uid %d)", os.Geteuid())
	}
}
