package docker

import (
	"archive/tar"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// keepAlive is PID 1 of containers made from an image (source and build
// script in keepalive/).
//
//go:embed keepalive/linux-amd64
var keepAliveAMD64 []byte

// keepAlivePath is where the keep-alive program lives while the container
// runs; it is unlinked before the commit.
const keepAlivePath = "/.goinfra-keepalive"

// fallbackKeepAlive keeps a container of an architecture without a
// keep-alive program up; it needs a shell and sleep in the image.
var fallbackKeepAlive = []string{"/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"}

// Conn is a connection to one container. Run, Put and Get may be called
// concurrently: each is its own API request.
type Conn struct {
	driver *Driver
	host   *connector.Host

	mu        sync.Mutex
	cli       *client.Client
	release   func()
	id        string // container id
	user      string // the container's configured user
	workdir   string // the container's working directory
	fromImage bool   // the container was created from an image by us
	base      *container.Config
	helper    bool // the keep-alive program is in the container
	started   bool // we started a stopped container
	unpaused  bool // we unpaused a paused container
	finished  bool
	closing   bool           // Close began: no new operations
	inflight  sync.WaitGroup // operations admitted by begin
	pending   []pendingStop  // commands to stop once the engine answers
}

var (
	_ connector.Finisher     = (*Conn)(nil)
	_ connector.UserSwitcher = (*Conn)(nil)
)

func (c *Conn) errorf(class error, format string, args ...any) error {
	return connector.Errorf(c.host.Name, class, format, args...)
}

// Connect implements connector.Conn: it reaches the engine and finds the
// container, or creates and starts one from the image.
func (c *Conn) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != "" {
		return nil
	}
	cli, release, err := c.driver.client(ctx, c.host)
	if err != nil {
		return c.errorf(connector.ErrConnect, "docker engine client: %w", err)
	}
	c.cli, c.release = cli, release
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.closeClient()
		return c.errorf(connector.ErrConnect, "no docker engine reachable: %w", err)
	}
	ident := c.host.Data.String("docker_identifier")
	if err := c.useContainer(ctx, ident); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		c.closeClient()
		return c.errorf(connector.ErrConnect, "container %s: %w", ident, err)
	}
	if err := c.createFromImage(ctx, ident); err != nil {
		c.closeClient()
		return err
	}
	return nil
}

func (c *Conn) closeClient() {
	if c.cli != nil {
		c.cli.Close()
		c.cli = nil
	}
	if c.release != nil {
		c.release()
		c.release = nil
	}
}

// useContainer adopts an existing container, starting or unpausing it.
func (c *Conn) useContainer(ctx context.Context, ident string) error {
	res, err := c.cli.ContainerInspect(ctx, ident, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	ct := res.Container
	if ct.Config != nil {
		c.user, c.workdir = ct.Config.User, ct.Config.WorkingDir
	}
	if c.workdir == "" {
		c.workdir = "/"
	}
	c.id = ct.ID
	if ct.State != nil {
		switch {
		case ct.State.Paused:
			if _, err := c.cli.ContainerUnpause(ctx, ct.ID, client.ContainerUnpauseOptions{}); err != nil {
				c.id = ""
				return fmt.Errorf("unpausing: %w", err)
			}
			c.unpaused = true
		case !ct.State.Running:
			if _, err := c.cli.ContainerStart(ctx, ct.ID, client.ContainerStartOptions{}); err != nil {
				c.id = ""
				return fmt.Errorf("starting: %w", err)
			}
			c.started = true
			c.host.Logger().Info("started stopped container; it is stopped again at the end", "container", short(ct.ID))
		}
	}
	return nil
}

func (c *Conn) platform() (*ocispec.Platform, error) {
	p := c.host.Data.String("docker_platform")
	arch := c.host.Data.String("docker_architecture")
	if p == "" && arch == "" {
		return nil, nil
	}
	var out ocispec.Platform
	if p != "" {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("docker_platform %q: want os/arch[/variant]", p)
		}
		out.OS, out.Architecture = parts[0], parts[1]
		if len(parts) == 3 {
			out.Variant = parts[2]
		}
	} else {
		out.OS = "linux"
	}
	if arch != "" {
		if p != "" && arch != out.Architecture {
			return nil, fmt.Errorf("docker_architecture %q disagrees with docker_platform %q", arch, p)
		}
		out.Architecture = arch
	}
	return &out, nil
}

// createFromImage starts a keep-alive container from the image ident.
func (c *Conn) createFromImage(ctx context.Context, ident string) error {
	var raw bytes.Buffer
	img, err := c.cli.ImageInspect(ctx, ident, client.ImageInspectWithRawResponse(&raw))
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return c.errorf(connector.ErrConnect, "no container or image named %q on this engine (images are not pulled)", ident)
		}
		return c.errorf(connector.ErrConnect, "image %s: %w", ident, err)
	}
	plat, err := c.platform()
	if err != nil {
		return c.errorf(connector.ErrConnect, "%w", err)
	}
	arch := img.Architecture
	if plat != nil {
		arch = plat.Architecture
	}
	// The image's config has the shape of a container config; decoding the
	// raw answer keeps every field, also ones this client does not model.
	var imgJSON struct{ Config *container.Config }
	if err := json.Unmarshal(raw.Bytes(), &imgJSON); err != nil {
		return c.errorf(connector.ErrConnect, "image %s: reading its config: %w", ident, err)
	}
	base := imgJSON.Config
	if base == nil {
		base = &container.Config{}
	}
	cfg := &container.Config{Image: img.ID}
	// The keep-alive goes where the engine's commit can later be told to
	// restore the base exactly: see commitConfig.
	keep := []string{keepAlivePath}
	if arch != "amd64" {
		keep = fallbackKeepAlive
	}
	if len(base.Entrypoint) == 0 && len(base.Cmd) > 0 {
		cfg.Entrypoint = base.Entrypoint
		cfg.Cmd = keep
	} else {
		cfg.Entrypoint = keep
	}
	created, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     cfg,
		HostConfig: &container.HostConfig{},
		Platform:   plat,
	})
	if err != nil {
		return c.errorf(connector.ErrConnect, "creating a container from image %s: %w", ident, err)
	}
	c.id, c.fromImage, c.base, c.user, c.workdir = created.ID, true, base, base.User, base.WorkingDir
	if c.workdir == "" {
		c.workdir = "/"
	}
	fail := func(err error) error {
		c.removeContainer(context.WithoutCancel(ctx))
		c.id = ""
		return err
	}
	if arch == "amd64" {
		if err := c.copyKeepAlive(ctx); err != nil {
			return fail(c.errorf(connector.ErrConnect, "copying the keep-alive program into the container: %w", err))
		}
		c.helper = true
	}
	if _, err := c.cli.ContainerStart(ctx, c.id, client.ContainerStartOptions{}); err != nil {
		return fail(c.errorf(connector.ErrConnect, "starting a container from image %s: %w", ident, err))
	}
	c.host.Logger().Info("created container from image", "image", ident, "container", short(c.id))
	return nil
}

func (c *Conn) copyKeepAlive(ctx context.Context) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: keepAlivePath[1:], Mode: 0o755, Size: int64(len(keepAliveAMD64)), Typeflag: tar.TypeReg, ModTime: time.Now()})
	tw.Write(keepAliveAMD64)
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := c.cli.CopyToContainer(ctx, c.id, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
	return err
}

// commitConfig is the configuration the committed image gets: the base
// image's, field for field. The engine fills fields the request leaves
// empty from the container's own config (which holds the keep-alive), so
// an empty Entrypoint is sent as [] rather than null: an image that had
// neither Entrypoint nor Cmd gets "Entrypoint": [], which runs the same.
func (c *Conn) commitConfig() *container.Config {
	cfg := *c.base
	if len(cfg.Entrypoint) == 0 && (len(cfg.Cmd) == 0 || cfg.Entrypoint != nil) {
		cfg.Entrypoint = []string{}
	}
	return &cfg
}

// commitChanges says the base's Entrypoint and Cmd as Dockerfile
// instructions (JSON form), for engines that take only those.
func commitChanges(base *container.Config) []string {
	js := func(l []string) string {
		if l == nil {
			l = []string{}
		}
		b, _ := json.Marshal(l)
		return string(b)
	}
	var out []string
	if len(base.Entrypoint) > 0 || len(base.Cmd) == 0 {
		out = append(out, "ENTRYPOINT "+js(base.Entrypoint))
	}
	if len(base.Cmd) > 0 {
		out = append(out, "CMD "+js(base.Cmd))
	}
	return out
}

// Finish implements connector.Finisher. For a container made from an
// image: on success, commit it to a new image (tagged docker_tag), log the
// image id and remove the container; on failure commit nothing and remove
// the container, or keep it when docker_keep_failed is set. For an existing
// container it restores the state it was found in.
func (c *Conn) Finish(ctx context.Context, runErr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished || c.cli == nil || c.id == "" {
		return nil
	}
	c.finished = true
	if !c.fromImage {
		return c.restore(ctx)
	}
	log := c.host.Logger()
	if runErr != nil {
		if c.host.Data.Bool("docker_keep_failed") {
			log.Warn("the run did not succeed: no image committed; container kept for inspection (docker_keep_failed)", "container", c.id, "reason", runErr.Error())
			return nil
		}
		err := c.removeContainer(ctx)
		log.Warn("the run did not succeed: no image committed; container removed", "container", short(c.id), "reason", runErr.Error())
		return err
	}
	if c.helper {
		if err := c.removeKeepAlive(ctx); err != nil {
			c.removeContainer(ctx)
			return c.errorf(connector.ErrCommand, "removing the keep-alive program before commit: %w; no image committed", err)
		}
	}
	opts := client.ContainerCommitOptions{
		Reference: c.host.Data.String("docker_tag"),
		Comment:   c.host.Data.String("docker_commit_message"),
		Config:    c.commitConfig(),
	}
	if opts.Comment == "" {
		opts.Comment = "goinfra " + c.host.Name
	}
	if c.driver.commitChanges {
		opts.Changes = commitChanges(c.base)
	}
	res, err := c.cli.ContainerCommit(ctx, c.id, opts)
	if err != nil {
		c.removeContainer(ctx)
		return c.errorf(connector.ErrConnect, "committing the container: %w", err)
	}
	attrs := []any{"image", res.ID}
	if opts.Reference != "" {
		attrs = append(attrs, "tag", opts.Reference)
	}
	log.Info("committed image", attrs...)
	return c.removeContainer(ctx)
}

// removeKeepAlive unlinks the keep-alive program with itself, since the
// image may have no rm; the running PID 1 keeps its inode.
func (c *Conn) removeKeepAlive(ctx context.Context) error {
	code, err := c.execSimple(ctx, []string{keepAlivePath, keepAlivePath}, "0")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("unlink exit code %d", code)
	}
	return nil
}

// execSimple runs argv as user and returns its exit code.
func (c *Conn) execSimple(ctx context.Context, argv []string, user string) (int, error) {
	_, code, err := c.execOutput(ctx, argv, user)
	return code, err
}

func (c *Conn) restore(ctx context.Context) error {
	var errs []error
	if c.started {
		t := 10
		if _, err := c.cli.ContainerStop(ctx, c.id, client.ContainerStopOptions{Timeout: &t}); err != nil {
			errs = append(errs, fmt.Errorf("stopping the container again: %w", err))
		} else {
			c.host.Logger().Info("stopped container again (found stopped)", "container", short(c.id))
		}
	}
	if c.unpaused {
		if _, err := c.cli.ContainerPause(ctx, c.id, client.ContainerPauseOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("pausing the container again: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c.errorf(connector.ErrConnect, "%w", err)
	}
	return nil
}

func (c *Conn) removeContainer(ctx context.Context) error {
	_, err := c.cli.ContainerRemove(ctx, c.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return c.errorf(connector.ErrConnect, "removing container %s: %w", short(c.id), err)
	}
	return nil
}

// Close implements connector.Conn. Without a prior Finish it finishes as
// after a successful run (pyinfra commits on disconnect).
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.inflight.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c.runPendingStops(ctx)
	err := c.Finish(ctx, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeClient()
	return err
}

// ContainerID returns the id of the container the connection runs in
// ("" before Connect).
func (c *Conn) ContainerID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
