// Package docker is the connector kind "docker": it runs commands in a
// container and moves files in and out of it through the Docker Engine API
// (github.com/moby/moby/client), with no docker CLI and no output parsing.
//
// The target "@docker/<name>" names a container or an image:
//
//   - A container (id or name; a container wins over an image of the same
//     name) is used as it is and left as found: a stopped one is started and
//     stopped again at the end, a paused one unpaused and paused again.
//   - An image is how the connector builds images. A container is created
//     from it whose PID 1 is a 504-byte static keep-alive program copied in
//     through the archive API, so it stays up whatever the image holds (no
//     shell, tail or sleep needed). At the end of a successful run the
//     program is removed, the container committed with the base image's own
//     Cmd, Entrypoint and configuration (nothing of the trick is left), the
//     container removed and the new image id logged. After a failed run
//     nothing is committed (see Conn.Finish).
//
// Commands run through the exec API as one argv, `<shell> -c <command>`: one
// shell layer. Privilege switches (_sudo, _su_user, _doas) become the exec's
// user, so images need no sudo (pyinfra #694). Files travel as tar streams
// built on the fly.
//
// The engine is found as the docker CLI finds it: DOCKER_HOST,
// DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, else the local
// socket; the API version is negotiated down to the engine's (API 1.40 and
// later, Docker 19.03+). The package also serves the podman and dockerssh
// kinds through Driver with another engine address or dialer.
package docker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/moby/moby/client"
)

// Data keys the docker connector reads.
var dataKeys = []connector.DataKey{
	{Name: "docker_identifier", Type: connector.String, Description: "image or container to run in (set from the target: @docker/<identifier>)"},
	{Name: "docker_host", Type: connector.String, Description: "engine address, e.g. unix:///var/run/docker.sock or tcp://h:2376 (default: DOCKER_HOST, else the local socket)"},
	{Name: "docker_platform", Type: connector.String, Description: "platform of the container created from an image, e.g. linux/arm64"},
	{Name: "docker_architecture", Type: connector.String, Description: "CPU architecture of the container created from an image (shorthand for docker_platform linux/<arch>)"},
	{Name: "docker_user", Type: connector.String, Description: "user commands run as inside the container (the exec's user: name, uid or uid:gid; default the container's user)"},
	{Name: "docker_tag", Type: connector.String, Description: "reference (repo:tag) given to the image committed from an image target"},
	{Name: "docker_keep_failed", Type: connector.Bool, Default: false, Description: "after a failed run on an image target, keep the container for inspection instead of removing it"},
	{Name: "docker_commit_message", Type: connector.String, Description: "comment recorded in the committed image"},
}

// ClientFunc makes the Engine API client for a host. release, if not nil,
// is called after the client is closed (dockerssh closes its SSH
// connection there).
type ClientFunc func(ctx context.Context, h *connector.Host) (cli *client.Client, release func(), err error)

// Driver is a connector kind on the Docker Engine API. The zero value is
// not usable; see New.
type Driver struct {
	kind   string
	desc   string
	keys   []connector.DataKey
	client ClientFunc
	// commitChanges: the engine ignores the commit request's config (Podman)
	// and is told the base's Entrypoint and Cmd as Dockerfile changes.
	commitChanges bool
	// split, when set, turns the text after "@kind/" into extra host data
	// and the identifier (dockerssh: "host:image").
	split func(arg string) (identifier string, data map[string]any, err error)
	// argUsage names the target argument (see TargetArg).
	argUsage string
}

// Config describes a kind built on this package.
type Config struct {
	// Kind is the registered name ("docker", "podman", ...).
	Kind        string
	Description string
	// ExtraKeys are declared besides the docker_* keys.
	ExtraKeys []connector.DataKey
	// Client makes the engine client; nil means FromEnvClient.
	Client ClientFunc
	// CommitChanges restores the base image's Entrypoint and Cmd through
	// the commit's Dockerfile-style changes, for engines that ignore the
	// commit's config (Podman's compatible API).
	CommitChanges bool
	// Split parses the target argument; nil means the whole argument is
	// the identifier.
	Split func(arg string) (identifier string, data map[string]any, err error)
	// ArgUsage names the target argument for completion and help;
	// "" means "image or container".
	ArgUsage string
}

// New returns a Driver for cfg.
func New(cfg Config) *Driver {
	d := &Driver{kind: cfg.Kind, desc: cfg.Description, client: cfg.Client, split: cfg.Split, commitChanges: cfg.CommitChanges, argUsage: cfg.ArgUsage}
	d.keys = append(append([]connector.DataKey(nil), dataKeys...), cfg.ExtraKeys...)
	if d.client == nil {
		d.client = FromEnvClient
	}
	return d
}

func init() {
	connector.Register("docker", New(Config{
		Kind:        "docker",
		Description: "a Docker container, or an image to build (commits a new image at the end)",
	}))
}

// FromEnvClient is the default ClientFunc: docker_host when set, else the
// environment as the docker CLI reads it, with API version negotiation.
func FromEnvClient(_ context.Context, h *connector.Host) (*client.Client, func(), error) {
	host := h.Data.String("docker_host")
	if host == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	cli, err := NewClient(host, client.FromEnv)
	return cli, nil, err
}

// NewClient makes a client for the engine at host ("" for the platform's
// default socket) with larger transfer buffers than the library's default
// transport (its 4 KiB writes slow uploads down). opts apply before the
// host is set.
func NewClient(host string, opts ...client.Opt) (*client.Client, error) {
	if host == "" {
		host = client.DefaultDockerHost
	}
	all := append([]client.Opt{client.WithHTTPClient(httpClient())}, opts...)
	return client.New(append(all, client.WithHost(host), client.WithScheme(scheme(host)))...)
}

// scheme is what the library would pick with its own transport: https when
// TLS is configured. (A cloned http.Transport always carries a TLS config,
// so the library's own guess would say https for a plain socket.)
func scheme(host string) string {
	if os.Getenv(client.EnvOverrideCertPath) != "" || os.Getenv(client.EnvTLSVerify) != "" || strings.HasPrefix(host, "https://") {
		return "https"
	}
	return "http"
}

func httpClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			WriteBufferSize: 256 << 10,
			ReadBufferSize:  256 << 10,
			MaxIdleConns:    16,
			IdleConnTimeout: 30 * time.Second,
		},
		CheckRedirect: client.CheckRedirect,
	}
}

// DialClient builds a client that reaches the engine through dial (an
// SSH-forwarded socket, for example) instead of a local address.
func DialClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*client.Client, error) {
	return client.New(client.WithHTTPClient(httpClient()), client.WithHost("unix:///var/run/docker.sock"),
		client.WithScheme("http"), client.WithDialContext(dial))
}

// Description implements connector.Describer.
func (d *Driver) Description() string { return d.desc }

// DataKeys implements connector.Driver.
func (d *Driver) DataKeys() []connector.DataKey { return d.keys }

// Expand implements connector.Driver: one host named "@<kind>/<arg>".
func (d *Driver) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, fmt.Errorf("@%s needs an image or container: @%s/<image or container>", d.kind, d.kind)
	}
	id, data := arg, map[string]any{}
	if d.split != nil {
		var err error
		if id, data, err = d.split(arg); err != nil {
			return nil, fmt.Errorf("@%s/%s: %w", d.kind, arg, err)
		}
	}
	data["docker_identifier"] = id
	return []connector.Target{{Name: "@" + d.kind + "/" + arg, Data: data}}, nil
}

// Open implements connector.Opener.
func (d *Driver) Open(h *connector.Host) (connector.Conn, error) {
	if h.Data.String("docker_identifier") == "" {
		return nil, connector.Errorf(h.Name, connector.ErrConnect, "no docker_identifier: name an image or container (@%s/<name>)", d.kind)
	}
	if tag := h.Data.String("docker_tag"); tag != "" {
		ref, err := reference.ParseNormalizedNamed(tag)
		if err == nil {
			if _, digested := ref.(reference.Digested); digested {
				err = fmt.Errorf("a digest cannot be a tag")
			}
		}
		if err != nil {
			return nil, connector.Errorf(h.Name, connector.ErrConnect, "data key docker_tag: %q is not an image reference: %w", tag, err)
		}
	}
	return &Conn{driver: d, host: h}, nil
}
