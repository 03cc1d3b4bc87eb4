//go:build !unix

package local

import (
	"context"
	"io"
	"runtime"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// The local connector is POSIX-only: every command goinfra runs is a
// POSIX shell command line (escalation wrappers, facts, operations), which
// neither cmd.exe nor PowerShell could run. On other systems (Windows)
// the kind stays registered, so inventories naming @local still load, and
// its hosts fail with this error.
func (c *Conn) unavailable() error {
	return connector.Errorf(c.name(), connector.ErrConnect,
		"the local connector is not available on %s: goinfra runs commands through %s; run goinfra under WSL, or reach this machine over SSH",
		runtime.GOOS, Shell)
}

// Description implements connector.Describer.
func (Driver) Description() string {
	return "the machine goinfra runs on (not available on " + runtime.GOOS + ": it needs a POSIX shell)"
}

// Open fails: see unavailable.
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	return nil, New(h).unavailable()
}

// Connect fails: see unavailable.
func (c *Conn) Connect(context.Context) error { return c.unavailable() }

// Close does nothing.
func (c *Conn) Close() error { return nil }

// Run fails: see unavailable.
func (c *Conn) Run(context.Context, command.Command, connector.Options) (connector.Result, error) {
	return connector.Result{ExitCode: -1}, c.unavailable()
}

// Put fails: see unavailable.
func (c *Conn) Put(context.Context, io.Reader, string, connector.Options) error {
	return c.unavailable()
}

// Get fails: see unavailable.
func (c *Conn) Get(context.Context, string, io.Writer, connector.Options) error {
	return c.unavailable()
}
