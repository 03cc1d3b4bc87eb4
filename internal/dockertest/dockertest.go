// Package dockertest gives tests of the Engine API connectors (docker,
// podman, dockerssh) a real engine and a base image. No registry is
// reachable, so the image is made from the machine's busybox-static: a root
// filesystem built as a tar stream in memory and imported through the API.
// It is built once per engine and reused by tag; a file lock keeps parallel
// test packages from building it twice.
package dockertest

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/goinfra-dev/goinfra/internal/filelock"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// recipe changes whenever the image content below changes.
const recipe = "2"

// BaseChanges is the configuration the base image is imported with; tests
// check a committed image keeps it.
var BaseChanges = []string{
	`CMD ["/bin/sh"]`,
	`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
	`ENV GOINFRA_BASE=yes`,
	`WORKDIR /root`,
	`LABEL org.goinfra.test=base`,
	`EXPOSE 8080/tcp`,
}

// Client returns a client for the local engine (DOCKER_HOST or the default
// socket), or skips t (fails under CI=true) when no engine answers.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		testenv.Skip(t, "docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		testenv.Skip(t, "no docker engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// busybox finds a statically linked busybox (Debian's busybox-static).
func busybox(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p
		}
	}
	testenv.Skip(t, "no static busybox (apt-get install busybox-static)")
	return ""
}

// BaseImage returns the tag of the busybox base image on the engine cli
// talks to, importing it first if needed. The image has root and a user
// "app" (uid 1000, gid 1000, home /home/app) and BaseChanges as config.
func BaseImage(t testing.TB, cli *client.Client) string {
	t.Helper()
	return importImage(t, cli, "goinfra-test/busybox", BaseChanges)
}

// BareImage is the same root filesystem with no configuration at all:
// neither Entrypoint nor Cmd, as a plain `docker import` gives.
func BareImage(t testing.TB, cli *client.Client) string {
	t.Helper()
	return importImage(t, cli, "goinfra-test/busybox-bare", nil)
}

func importImage(t testing.TB, cli *client.Client, repo string, changes []string) string {
	t.Helper()
	bb := busybox(t)
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(data, recipe...))
	tag := repo + ":" + hex.EncodeToString(sum[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag
	}
	unlock := lock(t)
	defer unlock()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag
	}
	applets, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfs(pw, data, strings.Fields(string(applets)))) }()
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, tag,
		client.ImageImportOptions{Changes: changes, Message: "goinfra test base"})
	if err != nil {
		t.Fatalf("importing %s: %v", tag, err)
	}
	io.Copy(io.Discard, res)
	res.Close()
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		t.Fatalf("image %s missing after import: %v", tag, err)
	}
	return tag
}

func writeRootfs(w io.Writer, busybox []byte, applets []string) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	dir := func(name string, mode int64, uid int) {
		tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode, Uid: uid, Gid: uid, ModTime: now})
	}
	file := func(name string, mode int64, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body)), ModTime: now})
		io.WriteString(tw, body)
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "var", "run", "srv", "home"} {
		dir(d, 0o755, 0)
	}
	dir("root", 0o700, 0)
	dir("tmp", 0o1777, 0)
	dir("home/app", 0o755, 1000)
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(busybox)), ModTime: now})
	tw.Write(busybox)
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: now})
	}
	file("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
	file("etc/group", 0o644, "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n")
	file("etc/shadow", 0o600, "root:*:1::::::\napp:*:1::::::\nnobody:*:1::::::\n")
	return tw.Close()
}

// lock takes an exclusive file lock shared by all test processes.
func lock(t testing.TB) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "goinfra-dockertest.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := filelock.Lock(f)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() {
		unlock()
		f.Close()
	}
}

// Name returns a fresh name for a test container or image.
func Name(prefix string) string {
	var b [4]byte
	f, _ := os.Open("/dev/urandom")
	f.Read(b[:])
	f.Close()
	return fmt.Sprintf("goinfra-test-%s-%x", prefix, b)
}

// Container creates a container from image running a shell that waits
// (and exits on SIGTERM), named name, and removes it when t ends. With start
// false it is started and stopped once (state "exited").
func Container(t testing.TB, cli *client.Client, image, name string, start bool) string {
	t.Helper()
	ctx := context.Background()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   name,
		Config: &container.Config{Image: image, Cmd: []string{"/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"}},
	})
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	if !start {
		if _, err := cli.ContainerStop(ctx, res.ID, client.ContainerStopOptions{}); err != nil {
			t.Fatalf("stopping %s: %v", name, err)
		}
	}
	return res.ID
}

// RemoveImage removes ref (ignoring a missing one) when t ends.
func RemoveImage(t testing.TB, cli *client.Client, ref string) {
	t.Cleanup(func() {
		_, err := cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Logf("removing image %s: %v", ref, err)
		}
	})
}
