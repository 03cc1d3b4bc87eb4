// Package dockerssh is the connector kind "dockerssh": the docker
// connector's behaviour (package docker) on the Docker engine of a remote
// host reached over SSH. The target is "@dockerssh/<ssh host>:<image or
// container>" (the first colon separates them, so "web1:alpine:3.19" is
// the image alpine:3.19 on web1).
//
// The SSH connection is the ssh connector's own (same settings, ssh config
// file, host keys, ProxyJump); the Engine API runs over it as a stream to
// the remote Docker socket (OpenSSH's direct-streamlocal, as `ssh -L
// local.sock:/var/run/docker.sock` does). No docker CLI is needed on
// either side, no output is parsed, and nothing is written on the remote
// host (pyinfra's dockerssh left temp files behind). The SSH user must be
// allowed to open the socket (root, or the docker group), and the server
// must allow stream forwarding (AllowStreamLocalForwarding, on by default);
// when the socket cannot be opened, the error says which of these failed.
package dockerssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/goinfra-dev/goinfra/connectors/ssh"
	"github.com/moby/moby/client"
	gossh "golang.org/x/crypto/ssh"
)

// Kind is the name the connector registers under.
const Kind = "dockerssh"

var ownKeys = []connector.DataKey{
	{Name: "dockerssh_host", Type: connector.String, Description: "SSH host whose Docker engine is used (set from the target: @dockerssh/<host>:<image>)"},
	{Name: "dockerssh_socket", Type: connector.String, Default: "/var/run/docker.sock", Description: "path of the Docker socket on the SSH host"},
}

func init() {
	connector.Register(Kind, docker.New(docker.Config{
		Kind:        Kind,
		Description: "a container or image on the Docker engine of a host reached over SSH",
		ExtraKeys:   append(append([]connector.DataKey(nil), ownKeys...), ssh.Driver{}.DataKeys()...),
		Client:      Client,
		Split:       Split,
		ArgUsage:    "ssh host:image or container",
	}))
}

// Split parses "<ssh host>:<image or container>".
func Split(arg string) (string, map[string]any, error) {
	host, ident, ok := strings.Cut(arg, ":")
	if !ok || host == "" || ident == "" {
		return "", nil, errors.New("want <ssh host>:<image or container>")
	}
	return ident, map[string]any{"dockerssh_host": host}, nil
}

// streamDialer is what the ssh connector's connection offers for this.
type streamDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is the dockerssh kind's docker.ClientFunc: it connects the ssh
// connector to the host and returns an Engine API client whose every HTTP
// connection is a stream to the remote socket over that one SSH connection.
func Client(ctx context.Context, h *connector.Host) (*client.Client, func(), error) {
	sshHost := h.Data.String("dockerssh_host")
	if sshHost == "" {
		return nil, nil, fmt.Errorf("no dockerssh_host")
	}
	drv := ssh.Driver{}
	targets, err := drv.Expand(ctx, sshHost)
	if err != nil {
		return nil, nil, err
	}
	data := connector.Data{}
	for k, v := range targets[0].Data {
		data[k] = v
	}
	for k, v := range h.Data {
		data[k] = v
	}
	sh := &connector.Host{Name: targets[0].Name, Groups: h.Groups, Data: data, Log: h.Log}
	conn, err := drv.Open(sh)
	if err != nil {
		return nil, nil, err
	}
	if err := conn.Connect(ctx); err != nil {
		conn.Close()
		return nil, nil, err
	}
	d, ok := conn.(streamDialer)
	if !ok {
		conn.Close()
		return nil, nil, fmt.Errorf("the ssh connector cannot open streams")
	}
	socket := h.Data.String("dockerssh_socket")
	// The Engine API client reports any failure to reach the socket as
	// "Is the docker daemon running?": one stream opened here first tells
	// what failed.
	probe, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		err = socketError(ctx, conn, sh.Name, socket, err)
		conn.Close()
		return nil, nil, err
	}
	probe.Close()
	cli, err := docker.DialClient(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socket)
	})
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return cli, func() { conn.Close() }, nil
}

// socketProbe prints what is wrong with the socket $1 for the ssh user:
// missing, not-socket, denied, or nothing when the user may open it.
const socketProbe = `if [ ! -e "$1" ]; then echo missing; elif [ ! -S "$1" ]; then echo not-socket; elif [ ! -r "$1" ] || [ ! -w "$1" ]; then echo denied; fi`

// socketError explains a stream to the remote socket that sshd would not
// open. sshd answers only "open failed" (its log has the cause), so the
// socket is looked at over the same connection, as the ssh user.
func socketError(ctx context.Context, conn connector.Conn, host, socket string, err error) error {
	var user string
	if sc, ok := conn.(*ssh.Conn); ok && sc.Settings() != nil {
		user = sc.Settings().User
	}
	var found string
	var oce *gossh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == gossh.ConnectionFailed {
		res, rerr := conn.Run(ctx, command.Args("sh", "-c", socketProbe, "sh", socket), connector.Options{})
		if rerr == nil && res.ExitCode == 0 {
			found = strings.TrimSpace(res.Stdout())
			if found == "" {
				found = "usable"
			}
		}
	}
	return explainSocket(err, found, user, host, socket)
}

// explainSocket words the failure to open socket on host as the ssh user
// ("" when unknown); found is what socketProbe printed ("usable" when
// nothing, "" when it could not run).
func explainSocket(err error, found, user, host, socket string) error {
	who, name := "the ssh user", "<user>"
	if user != "" {
		who, name = "ssh user "+user, user
	}
	var oce *gossh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == gossh.Prohibited {
		return fmt.Errorf("sshd on %s does not allow forwarding to a socket (AllowStreamLocalForwarding or DisableForwarding in its sshd_config): %w", host, err)
	}
	switch found {
	case "denied":
		return fmt.Errorf("%s may not open the Docker engine socket %s on %s (permission denied): give the user access to it, e.g. membership of the docker group (usermod -aG docker %s; it applies to new logins), or connect as root: %w", who, socket, host, name, err)
	case "missing":
		return fmt.Errorf("there is no Docker engine socket %s on %s: is Docker installed and running there? (dockerssh_socket names another path): %w", socket, host, err)
	case "not-socket":
		return fmt.Errorf("%s on %s is not a socket: set dockerssh_socket to the Docker engine socket's path: %w", socket, host, err)
	case "usable":
		// OpenSSH's sshd gives the same answer for both.
		return fmt.Errorf("sshd on %s would not open a stream to the Docker engine socket %s, which %s may open: either sshd does not allow forwarding to a socket (AllowStreamLocalForwarding or DisableForwarding in its sshd_config) or no engine listens on it (is the Docker daemon running there?): %w", host, socket, who, err)
	}
	return fmt.Errorf("could not open the Docker engine socket %s on %s: the engine may not be running, or %s may not open the socket (it needs access to it, e.g. membership of the docker group): %w", socket, host, who, err)
}
