//go:build unix

package docker_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
)

// TestContainerRemovedMidRun: the container goes away while a command
// runs in it (docker rm -f by someone else). The command ends at once with
// an error, later commands fail clearly, and nothing hangs.
func TestContainerRemovedMidRun(t *testing.T) {
	e := engine(t)
	base := dockertest.BaseImage(t, e.Cli)
	name := dockertest.Name("faultrm")
	dockertest.Container(t, e.Cli, base, name, true)
	c, _ := e.Open(t, name, nil)
	// Generous: the engine is shared with other tests on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		time.Sleep(time.Second)
		_, _ = e.Cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true})
	}()
	start := time.Now()
	res, err := c.Run(ctx, command.Shell("sleep 120"), connector.Options{})
	took := time.Since(start)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("a command whose container was removed: %v (exit %d)", err, res.ExitCode)
	}
	if took > time.Minute {
		t.Errorf("noticed after %s", took)
	}
	_, err = c.Run(ctx, command.Shell("true"), connector.Options{})
	if err == nil || !strings.Contains(err.Error(), name) && !errors.Is(err, connector.ErrConnect) {
		t.Errorf("a command after the container was removed: %v", err)
	}
}

// socketProxy forwards a unix socket to the engine's, and can vanish like
// a stopped engine: listener closed, socket file removed, every open
// connection cut.
type socketProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newSocketProxy(t *testing.T, target string) *socketProxy {
	p := &socketProxy{path: filepath.Join(t.TempDir(), "docker.sock"), target: target}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

func (p *socketProxy) restore(t *testing.T) {
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (p *socketProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	os.Remove(p.path)
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestEngineSocketGone: the engine's socket goes away while a command runs
// (the daemon stopped or restarted). The command ends with a connection
// error instead of hanging, later commands fail naming the host, and once
// the engine is back the command that was cut off is stopped in the
// container, as ssh stops a command whose network died.
func TestEngineSocketGone(t *testing.T) {
	e := engine(t)
	base := dockertest.BaseImage(t, e.Cli)
	name := dockertest.Name("faultsock")
	dockertest.Container(t, e.Cli, base, name, true)
	engineSock := strings.TrimPrefix(e.Cli.DaemonHost(), "unix://")
	if _, err := os.Stat(engineSock); err != nil {
		t.Fatalf("the engine is not on a unix socket (%s): %v", e.Cli.DaemonHost(), err)
	}
	p := newSocketProxy(t, engineSock)
	c, _ := e.Open(t, name, map[string]any{"docker_host": "unix://" + p.path})
	// Generous: the engine is shared with other tests on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(2 * time.Second)
		p.cut()
	}()
	start := time.Now()
	_, err := c.Run(ctx, command.Shell("echo started; sleep 171"), connector.Options{})
	if !errors.Is(err, connector.ErrConnect) || ctx.Err() != nil {
		t.Fatalf("a command whose engine went away: %v, want a connection error", err)
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("noticed after %s", took)
	}
	_, err = c.Run(ctx, command.Shell("true"), connector.Options{})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), name) {
		t.Errorf("a command while the engine is away: %v, want a connection error naming the host", err)
	}

	p.restore(t)
	if err := c.Close(); err != nil {
		t.Errorf("Close once the engine is back: %v", err)
	}
	check, _ := e.Open(t, name, nil)
	if err := check.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	res, err := check.Run(ctx, command.Shell("ps -o args | grep '[s]leep 171' || true"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout() != "" {
		t.Errorf("the command cut off from its engine still runs after Close:\n%s", res.Stdout())
	}
}
