//go:build linux

package podman_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/podman"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// service is a `podman system service` this test process started.
type service struct {
	cmd  *exec.Cmd
	sock string
	log  string
}

// startService starts Podman's API service on a socket of its own and
// stops it (by its PID) when t ends. Rootful Podman sets a container's
// open-files and process limits to huge defaults, which fails on machines
// that do not allow raising them ("error setting rlimit type 7"); the
// service gets a containers.conf with the current open-files hard limit and
// the given process limit (0: leave Podman's default).
func startService(t testing.TB, nproc uint64) *service {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		testenv.Skip(t, "podman is not installed (apt-get install podman)")
	}
	dir, err := os.MkdirTemp("", "goinfra-podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var nofile syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile)
	conf := filepath.Join(dir, "containers.conf")
	limits := fmt.Sprintf("[containers]\ndefault_ulimits = [\"nofile=%d:%d\"", nofile.Max, nofile.Max)
	if nproc > 0 {
		limits += fmt.Sprintf(", \"nproc=%d:%d\"", nproc, nproc)
	}
	if err := os.WriteFile(conf, []byte(limits+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &service{sock: filepath.Join(dir, "podman.sock"), log: filepath.Join(dir, "service.log")}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "system", "service", "--time=0", "unix://"+s.sock)
	s.cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		testenv.Skip(t, "starting podman system service: %v", err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(s.sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.log)
			testenv.Skip(t, "podman system service did not create its socket in 30s:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// canRun reports why podman cannot run a container here ("" if it can).
func canRun(t *testing.T, cli *client.Client, image string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: image, Cmd: []string{"true"}}})
	if err != nil {
		return "creating a container: " + err.Error()
	}
	defer cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return "starting a container: " + err.Error()
	}
	return ""
}

// TestPodman runs the shared engine suite against a real Podman service.
// This is the one test that may skip under CI=true: when Debian's podman
// cannot run containers on the machine, it says why and skips.
func TestPodman(t *testing.T) {
	var nproc syscall.Rlimit
	syscall.Getrlimit(6 /* RLIMIT_NPROC */, &nproc)
	// Process limits to try: the hard limit, then lower ones, since some
	// machines refuse even a raise within it.
	tries := []uint64{0}
	for n := nproc.Max; n >= 1024 && len(tries) < 6; n /= 2 {
		tries = append(tries, n)
	}
	var (
		cli  *client.Client
		s    *service
		base string
		why  string
	)
	for _, n := range tries {
		var stop func()
		s, stop = startServiceScoped(t, n)
		c, err := client.New(client.WithHost("unix://" + s.sock))
		if err != nil {
			t.Fatal(err)
		}
		var v client.ServerVersionResult
		for i := 0; ; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			v, err = c.ServerVersion(ctx, client.ServerVersionOptions{})
			cancel()
			if err == nil {
				break
			}
			if i == 50 {
				out, _ := os.ReadFile(s.log)
				testenv.Skip(t, "podman service does not answer: %v\n%s", err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		base = dockertest.BaseImage(t, c)
		if why = canRun(t, c, base); why == "" {
			t.Logf("podman %s, API %s, process limit %d", v.Version, v.APIVersion, n)
			cli = c
			t.Cleanup(func() { c.Close() })
			t.Cleanup(stop)
			break
		}
		t.Logf("process limit %d: %s", n, why)
		c.Close()
		stop()
		if !strings.Contains(why, "rlimit") {
			break
		}
	}
	if cli == nil {
		// Allowed to skip under CI (see the package README): podman itself
		// works, but this machine cannot start its containers.
		t.Skipf("podman cannot run containers on this machine: %s", why)
	}
	dockertest.Suite(t, &dockertest.Engine{Kind: "podman", Cli: cli, Data: map[string]any{"docker_host": "unix://" + s.sock},
		// Podman puts these into every container; its commits keep them.
		AddedEnv: []string{"container", "TERM"}})
}

// startServiceScoped is startService with an explicit stop (also run when
// t ends, harmlessly, if called before).
func startServiceScoped(t *testing.T, nproc uint64) (*service, func()) {
	var stops []func()
	sub := &cleanupT{T: t, add: func(f func()) { stops = append(stops, f) }}
	s := startService(sub, nproc)
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	t.Cleanup(stop)
	return s, stop
}

// cleanupT collects the cleanups startService registers.
type cleanupT struct {
	*testing.T
	add func(func())
}

func (c *cleanupT) Cleanup(f func()) { c.add(f) }

func TestSocket(t *testing.T) {
	h := &connector.Host{Data: connector.Data{}}
	t.Setenv("CONTAINER_HOST", "")
	t.Setenv("DOCKER_HOST", "unix:///docker.sock")
	got := podman.Socket(h)
	if os.Geteuid() == 0 && got != "unix:///run/podman/podman.sock" || !strings.HasSuffix(got, "podman.sock") {
		t.Errorf("default socket %q", got)
	}
	t.Setenv("CONTAINER_HOST", "unix:///c.sock")
	if got := podman.Socket(h); got != "unix:///c.sock" {
		t.Errorf("CONTAINER_HOST: %q", got)
	}
	h.Data["docker_host"] = "unix:///d.sock"
	if got := podman.Socket(h); got != "unix:///d.sock" {
		t.Errorf("docker_host: %q", got)
	}
	drv, _ := connector.Lookup("podman")
	if _, err := drv.Expand(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "@podman/<image or container>") {
		t.Errorf("bare @podman: %v", err)
	}
}
