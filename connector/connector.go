// Package connector is the contract between goinfra and the things it
// connects to: the interfaces a connector kind implements, the registry of
// kinds (in the manner of database/sql drivers), typed host data, command
// output, and the error classes every connector reports failures with.
//
// A kind is a Driver. Every Driver expands target strings into hosts
// (Expand) and declares the data keys it reads (DataKeys). A Driver that
// also implements Opener executes: it opens a Conn per host, which connects,
// runs commands and moves files. Optional capabilities of a Conn are found by
// type assertion (Finisher, Forwarder).
package connector

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/goinfra-dev/goinfra/command"
)

// Target is one host produced by a Driver's Expand: a name, connector data
// and the groups it joins.
type Target struct {
	Name   string
	Data   map[string]any
	Groups []string
}

// Driver is a connector kind.
type Driver interface {
	// Expand turns the text after "@kind/" into hosts; arg is "" for a bare
	// "@kind". For the default kind (ssh) arg is the whole target string.
	// A bad argument is an error, never a panic.
	Expand(ctx context.Context, arg string) ([]Target, error)
	// DataKeys declares the host data keys the kind reads.
	DataKeys() []DataKey
}

// Opener is a Driver that executes: it makes a connection for a host.
// A Driver without it is an inventory-only kind, whose hosts are run by the
// kind their names resolve to (ssh unless the name is itself a target string).
type Opener interface {
	Driver
	// Open returns an unconnected Conn for h. h.Data has been type-checked
	// against DataKeys and carries defaults for unset keys.
	Open(h *Host) (Conn, error)
}

// Describer is an optional Driver capability: a one-line description for
// `goinfra connectors`.
type Describer interface {
	Description() string
}

// Host is what a connection knows of its host.
type Host struct {
	Name   string
	Groups []string
	Data   Data
	// Log receives the connector's messages for the user (e.g. "committed
	// image sha256:..."). Never nil once the engine sets a host up.
	Log *slog.Logger
}

// Logger returns h.Log, or a logger that discards when it is unset.
func (h *Host) Logger() *slog.Logger {
	if h == nil || h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// Conn is a connection to one host. A Conn is used by one goroutine at a
// time per method call, but Run may be called concurrently only where a
// connector documents it.
type Conn interface {
	// Connect establishes the connection. Calling it again on a connected
	// Conn does nothing.
	Connect(ctx context.Context) error
	// Close disconnects and releases everything the Conn holds; it is
	// always called at the end of a run, also after failures.
	Close() error
	// Run runs cmd, wrapped as opts say. It returns the result (also on
	// failure, as far as the command ran) and an error matching ErrCommand,
	// ErrTimeout, ErrConnect, ... when it did not succeed.
	Run(ctx context.Context, cmd command.Command, opts Options) (Result, error)
	// Put writes everything from r to the file dst on the host, atomically:
	// dst is either its old content or the complete new one.
	Put(ctx context.Context, r io.Reader, dst string, opts Options) error
	// Get copies the file src on the host into w.
	Get(ctx context.Context, src string, w io.Writer, opts Options) error
}

// Finisher is an optional Conn capability for connectors whose disconnect
// depends on how the run went: the engine calls Finish before Close with
// the host's run error (nil on success). The docker connector commits an
// image only when runErr is nil.
type Finisher interface {
	Finish(ctx context.Context, runErr error) error
}

// Forwarder is an optional Conn capability: local port forwarding.
type Forwarder interface {
	// Forward listens on localAddr and forwards each connection to
	// remoteAddr as seen from the host, until ctx ends.
	Forward(ctx context.Context, localAddr, remoteAddr string) (io.Closer, error)
}

// Result is what a command produced.
type Result struct {
	Output
	// ExitCode is the command's exit code, or -1 when it has none
	// (timeout, lost connection).
	ExitCode int
	Duration time.Duration
}

// Options are the per-command controls, pyinfra's global arguments as they
// reach a connector.
type Options struct {
	// Unix wraps the command: _env, _chdir, _sudo, _su_user, _doas,
	// _shell_executable.
	command.Unix
	// SudoPassword and SuPassword are secrets: a connector must never put
	// them on a command line, in an environment, in a log or an error.
	SudoPassword string
	SuPassword   string
	DoasPassword string
	// Timeout stops the command (and what it started) after this long.
	Timeout time.Duration
	// Stdin is fed to the command's standard input.
	Stdin io.Reader
	// PTY asks for a pseudo-terminal.
	PTY bool
	// SuccessExitCodes are the exit codes that count as success; nil means {0}.
	SuccessExitCodes []int
	// OnLine sees each output line as it arrives (pyinfra's print_output).
	OnLine func(Line)
	// OnCommand sees the masked command before it runs (print_input).
	OnCommand func(masked string)
}

// Succeeded reports whether code is one of the allowed exit codes.
func (o Options) Succeeded(code int) bool {
	if len(o.SuccessExitCodes) == 0 {
		return code == 0
	}
	for _, c := range o.SuccessExitCodes {
		if c == code {
			return true
		}
	}
	return false
}
