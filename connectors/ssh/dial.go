package ssh

import (
	"context"
	"net"

	"github.com/goinfra-dev/goinfra/connector"
)

// DialContext opens a stream to addr as the host sees it, over the
// connection: network "tcp" (direct-tcpip) or "unix" (a socket path,
// OpenSSH's direct-streamlocal). The dockerssh connector reaches the remote
// Docker socket this way.
func (c *Conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, err := c.clientFor(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := client.DialContext(ctx, network, addr)
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "dial %s %s over ssh: %w", network, addr, err)
	}
	return conn, nil
}
