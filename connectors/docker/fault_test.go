//go:build unix

package docker_test

import (
	"context"
	"errors"
	"strings"
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
