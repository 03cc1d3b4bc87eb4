package docker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/docker"
)

// A target string names an image or a container; the host gets its name and
// docker_identifier from it.
func Example_expand() {
	drv, _ := connector.Lookup("docker")
	targets, _ := drv.Expand(context.Background(), "alpine:3.19")
	fmt.Println(targets[0].Name, targets[0].Data["docker_identifier"])
	_, err := drv.Expand(context.Background(), "")
	fmt.Println(err)
	// Output:
	// @docker/alpine:3.19 alpine:3.19
	// @docker needs an image or container: @docker/<image or container>
}

// Building an image: connect to @docker/<image>, change the container, and
// Finish with the run's result; on success the container is committed under
// docker_tag and the new image id is logged.
func Example_buildImage() {
	drv, _ := connector.Lookup("docker")
	data := connector.Data{"docker_identifier": "debian:bookworm", "docker_tag": "myapp:1"}
	if err := data.Check("@docker/debian:bookworm", drv.DataKeys()); err != nil {
		panic(err)
	}
	h := &connector.Host{Name: "@docker/debian:bookworm", Data: data, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	c, _ := drv.(connector.Opener).Open(h)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	_, runErr := c.Run(ctx, command.Shell("echo built > /etc/motd"), connector.Options{})
	c.(connector.Finisher).Finish(ctx, runErr) // commit only if runErr is nil
	c.Close()
}
