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
// must allow stream forwarding (AllowStreamLocalForwarding, on by default).
package dockerssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/goinfra-dev/goinfra/connectors/ssh"
	"github.com/moby/moby/client"
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
	cli, err := docker.DialClient(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socket)
	})
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return cli, func() { conn.Close() }, nil
}
