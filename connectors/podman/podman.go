// Package podman is the connector kind "podman": the docker connector's
// behaviour (package docker: containers used in place, images built by
// commit) against Podman's Docker-compatible API socket, started with
// `podman system service`.
//
// The socket is docker_host when set, else CONTAINER_HOST, else the
// rootful socket /run/podman/podman.sock (for root) or the rootless one in
// $XDG_RUNTIME_DIR/podman/podman.sock. DOCKER_HOST is not read: it names
// the Docker engine.
package podman

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/moby/moby/client"
)

func init() {
	connector.Register("podman", docker.New(docker.Config{
		Kind:        "podman",
		Description: "a Podman container, or an image to build (through Podman's Docker-compatible API)",
		Client:      Client,
		// Podman's compatible commit ignores the config in the request.
		CommitChanges: true,
	}))
}

// Socket returns the address of the Podman API for h.
func Socket(h *connector.Host) string {
	if s := h.Data.String("docker_host"); s != "" {
		return s
	}
	if s := os.Getenv("CONTAINER_HOST"); s != "" {
		return s
	}
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return "unix://" + filepath.Join(dir, "podman", "podman.sock")
		}
		return fmt.Sprintf("unix:///run/user/%d/podman/podman.sock", os.Geteuid())
	}
	return "unix:///run/podman/podman.sock"
}

// Client is the podman kind's docker.ClientFunc.
func Client(_ context.Context, h *connector.Host) (*client.Client, func(), error) {
	cli, err := docker.NewClient(Socket(h))
	return cli, nil, err
}
