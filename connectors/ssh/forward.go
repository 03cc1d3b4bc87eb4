package ssh

import (
	"context"
	"io"
	"net"

	"github.com/goinfra-dev/goinfra/connector"
)

// Forward implements connector.Forwarder: it listens on localAddr and
// forwards each connection to remoteAddr as the host sees it.
func (c *Conn) Forward(ctx context.Context, localAddr, remoteAddr string) (io.Closer, error) {
	if _, err := c.clientFor(ctx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", localAddr)
	if err != nil {
		return nil, connector.Errorf(c.name(), connector.ErrConnect, "forward %s: %w", localAddr, err)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	go func() {
		defer stop()
		for {
			lc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer lc.Close()
				client, err := c.clientFor(ctx)
				if err != nil {
					return
				}
				rc, err := client.DialContext(ctx, "tcp", remoteAddr)
				if err != nil {
					c.host.Logger().Warn("port forward failed", "host", c.name(), "remote", remoteAddr, "error", err)
					return
				}
				defer rc.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(rc, lc); done <- struct{}{} }()
				go func() { io.Copy(lc, rc); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return listenerCloser{ln}, nil
}

type listenerCloser struct{ net.Listener }

// Addr is where the forward listens (useful with port 0).
func (l listenerCloser) Close() error { return l.Listener.Close() }
