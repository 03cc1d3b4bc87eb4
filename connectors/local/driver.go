// Package local is the "local" connector kind: the one host "@local", the
// machine goinfra runs on. Commands run through the local shell in a
// process group of their own, so a timeout or a cancelled context stops
// the command and everything it started; files are copied locally,
// binary-safe and atomically.
//
// Escalation (_sudo, _su_user, _doas): commands are wrapped by
// command.Unix; passwords and escalated transfers are the escalation
// layer's (connector/escalate), which the engine puts around every
// connection. A Conn is a connector.Terminal: commands can run on a
// pseudo-terminal of their own with streamed input and byte-for-byte
// output, which the layer uses to type su and doas passwords.
//
// Importing the package registers the kind:
//
//	import _ "github.com/goinfra-dev/goinfra/connectors/local"
package local

import (
	"context"
	"fmt"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Kind is the name the connector is registered under.
const Kind = "local"

// HostName is the name (and group) of the only host the kind expands to.
const HostName = "@local"

// Shell runs every command that needs a shell to interpret escalation
// wrappers.
const Shell = "/bin/sh"

// KillGrace is how long a stopped command has between SIGTERM and SIGKILL.
// SIGTERM first lets sudo pass the signal on to a command it runs as
// another user, which the login user could not kill itself.
var KillGrace = 2 * time.Second

func init() { connector.Register(Kind, Driver{}) }

// Driver is the local connector kind.
type Driver struct{}

// Expand returns the host "@local" in group "@local"; there is only one
// local host, so any argument is an error.
func (Driver) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg != "" {
		return nil, fmt.Errorf("@local/%s: the local connector takes no argument (there is one local host: use @local)", arg)
	}
	return []connector.Target{{Name: HostName, Data: map[string]any{}, Groups: []string{HostName}}}, nil
}

// DataKeys is empty: the local connector reads only the global arguments.
func (Driver) DataKeys() []connector.DataKey { return nil }

// Conn runs commands and moves files on the local machine. Its methods may
// be called concurrently.
type Conn struct {
	host *connector.Host
}

// New returns a Conn for h; a nil h stands for the host "@local".
func New(h *connector.Host) *Conn {
	if h == nil {
		h = &connector.Host{Name: HostName}
	}
	return &Conn{host: h}
}

var _ connector.Conn = (*Conn)(nil)

func (c *Conn) name() string {
	if c.host.Name == "" {
		return HostName
	}
	return c.host.Name
}
