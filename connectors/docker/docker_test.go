//go:build unix

package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

func engine(t *testing.T) *dockertest.Engine {
	return &dockertest.Engine{Kind: "docker", Cli: dockertest.Client(t)}
}

// TestEngine runs the shared suite against the machine's Docker engine.
func TestEngine(t *testing.T) {
	dockertest.Suite(t, engine(t))
}

func TestExpand(t *testing.T) {
	drv, _ := connector.Lookup("docker")
	if _, err := drv.Expand(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "@docker/<image or container>") {
		t.Errorf("bare @docker: %v", err)
	}
	ts, err := drv.Expand(context.Background(), "alpine:3.19")
	if err != nil || len(ts) != 1 || ts[0].Name != "@docker/alpine:3.19" || ts[0].Data["docker_identifier"] != "alpine:3.19" {
		t.Errorf("expand: %+v %v", ts, err)
	}
	for _, k := range drv.DataKeys() {
		if k.Description == "" {
			t.Errorf("key %s has no description", k.Name)
		}
	}
}

// TestBadInput: missing image or container, no engine, a socket without
// permission: connect errors that name the host.
func TestBadInput(t *testing.T) {
	e := engine(t)
	c, _ := e.Open(t, "goinfra-no-such-image:never", nil)
	err := c.Connect(context.Background())
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "@docker/goinfra-no-such-image:never") ||
		!strings.Contains(err.Error(), "no container or image") {
		t.Errorf("missing image: %v", err)
	}
	c, _ = e.Open(t, "x", map[string]any{"docker_host": "unix:///nonexistent/docker.sock"})
	err = c.Connect(context.Background())
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "@docker/x") || !strings.Contains(err.Error(), "/nonexistent/docker.sock") {
		t.Errorf("no engine: %v", err)
	}
	// A socket the user may not open: run the check as nobody.
	if os.Getenv("GOINFRA_DOCKER_PERM_CHILD") == "" && os.Geteuid() == 0 {
		out := permissionChild(t)
		if !regexp.MustCompile(`@docker/x: connect failed: no docker engine reachable: .*permission denied`).MatchString(out) {
			t.Errorf("permission problem not reported:\n%s", out)
		}
	}
	drv, _ := connector.Lookup("docker")
	_, err = drv.(connector.Opener).Open(&connector.Host{Name: "@docker/x", Data: connector.Data{"docker_identifier": "x", "docker_tag": "Bad Tag"}})
	if err == nil || !strings.Contains(err.Error(), "@docker/x") || !strings.Contains(err.Error(), "docker_tag") {
		t.Errorf("bad docker_tag: %v", err)
	}
	if _, err := c.Run(context.Background(), command.Shell("true"), connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Run before a successful Connect: %v", err)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("GOINFRA_DOCKER_PERM_CHILD") != "" {
		// Child of TestBadInput, running as nobody.
		drv, _ := connector.Lookup("docker")
		h := &connector.Host{Name: "@docker/x", Data: connector.Data{"docker_identifier": "x", "docker_host": "unix:///var/run/docker.sock"}}
		c, _ := drv.(connector.Opener).Open(h)
		err := c.Connect(context.Background())
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func permissionChild(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/var/run/docker.sock"); err != nil || fi.Mode().Perm()&0o006 != 0 {
		t.Skip("docker.sock is missing or world-accessible: no permission problem to show")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "goinfra-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "docker.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"GOINFRA_DOCKER_PERM_CHILD=1", "HOME=/"}
	cmd.SysProcAttr = nobody()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	return string(out)
}

// TestKeepAliveMatchesSource rebuilds the keep-alive program from its
// assembly source and compares it with the embedded one.
func TestKeepAliveMatchesSource(t *testing.T) {
	if _, err := exec.LookPath("as"); err != nil {
		testenv.Skip(t, "GNU as is not installed (apt-get install binutils): cannot rebuild the keep-alive program")
	}
	dir := t.TempDir()
	for _, f := range []string{"amd64.asm", "gen.sh"} {
		data, err := os.ReadFile(filepath.Join("keepalive", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o755)
	}
	if out, err := exec.Command("sh", filepath.Join(dir, "gen.sh")).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "linux-amd64"))
	b, _ := os.ReadFile(filepath.Join("keepalive", "linux-amd64"))
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("keepalive/linux-amd64 (%d bytes) differs from its source's build (%d bytes): run keepalive/gen.sh", len(b), len(a))
	}
}

func nobody() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// TestPlatformAndReaping: docker_platform picks the platform of the build
// container (a bad one is a connect error naming the key), and orphans of
// the deploy are reaped by the keep-alive (no zombies).
func TestPlatformAndReaping(t *testing.T) {
	e := engine(t)
	base := dockertest.BaseImage(t, e.Cli)
	c, logs := e.Open(t, base, map[string]any{"docker_platform": "linux/amd64"})
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(context.Background(), command.Shell("uname -m; (sleep 0.1 &) ; sleep 0.5; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l; tr -d '\\0' < /proc/1/cmdline"), connector.Options{})
	if err != nil || res.Stdout() != "x86_64\n0\n/.goinfra-keepalive" {
		t.Errorf("in the build container: %q %v", res.Stdout(), err)
	}
	if err := c.Finish(context.Background(), errors.New("test: do not commit")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(logs.String(), "reason=\"test: do not commit\"") {
		t.Errorf("log: %s", logs)
	}
	c, _ = e.Open(t, base, map[string]any{"docker_platform": "amd64"})
	err = c.Connect(context.Background())
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "docker_platform") {
		t.Errorf("bad platform: %v", err)
	}
}
