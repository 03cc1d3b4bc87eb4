package podman_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/podman"
)

// The Podman API socket comes from docker_host, else CONTAINER_HOST, else
// Podman's default for the user goinfra runs as.
func ExampleSocket() {
	h := &connector.Host{Name: "@podman/app", Data: connector.Data{"docker_host": "unix:///run/podman/podman.sock"}}
	fmt.Println(podman.Socket(h))
	// Output:
	// unix:///run/podman/podman.sock
}
