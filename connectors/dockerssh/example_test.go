package dockerssh_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/dockerssh"
)

// "@dockerssh/<ssh host>:<image or container>" names a container on the
// Docker engine of a host reached over SSH; the ssh_* data keys of the
// SSH host apply to that connection.
func Example_expand() {
	drv, _ := connector.Lookup("dockerssh")
	targets, _ := drv.Expand(context.Background(), "builder.example.com:debian:bookworm")
	t := targets[0]
	fmt.Println(t.Name)
	fmt.Println(t.Data["dockerssh_host"], t.Data["docker_identifier"])
	_, err := drv.Expand(context.Background(), "debian")
	fmt.Println(err != nil)
	// Output:
	// @dockerssh/builder.example.com:debian:bookworm
	// builder.example.com debian:bookworm
	// true
}
