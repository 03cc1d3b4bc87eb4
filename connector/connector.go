// Package connector is the contract between goinfra and the things it
// connects to: the interfaces a connector kind implements, the registry of
// kinds (in the manner of database/sql drivers), typed host data, command
// output, and the error classes every connector reports failures with.
//
// A kind is a Driver. Every Driver expands target strings into hosts
// (Expand) and declares the data keys it reads (DataKeys). A Driver that
// also implements Opener executes: it opens a Conn per host, which connects,
// runs commands and moves files. Optional capabilities of a Conn are found
// with As, which also looks behind wrappers such as the escalation layer
// (Finisher, Forwarder, Terminal, UserSwitcher, Rebooter).
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

// Rebooter is an optional Conn capability of connectors that stop, once
// the host answers again, the commands a lost connection left running:
// after a reboot those process ids belong to other processes, so
// server.reboot calls Rebooted to drop the stops still owed.
type Rebooter interface {
	Rebooted()
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
	// SudoPassword, SuPassword and DoasPassword are secrets. The
	// escalation layer (connector/escalate) consumes them and clears them
	// before a connector sees the options, except for a UserSwitcher,
	// which must never put them on a command line, in an environment, in a
	// log or an error.
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
	// MaxOutput bounds what the result keeps of the output (_max_output):
	// bytes of line text plus LineCost per line, both streams together;
	// 0 means DefaultMaxOutput. Past it lines still reach OnLine and the
	// result is marked Truncated. Connectors honour it, and StreamOnly,
	// by recording with NewRecorderFor.
	MaxOutput int
	// StreamOnly is for a caller that shows each line from OnLine as it
	// comes and needs no copy (text-mode exec): the result keeps no
	// stdout and only the start of stderr, where the escalation layer
	// reads sudo's, su's and doas's messages.
	StreamOnly bool

	// Stdout, when set, receives the command's standard output byte for
	// byte as it arrives, instead of the result's lines (downloads, and
	// password prompts that end without a newline). Connectors that
	// implement Terminal honour it.
	Stdout io.Writer
	// Kill, when set, is how a connector stopping this command (timeout,
	// cancelled context) signals what the login user may not: processes
	// that run as the user the command switched to. The connector passes
	// a shell command such as "kill -TERM -123"; the escalation layer
	// (connector/escalate) runs it escalated as the command was, so no
	// connector handles a password. Without it a connector signals as the
	// login user only.
	Kill func(ctx context.Context, cmd command.Command) error
}

// Terminal is an optional Conn capability: commands can run on a
// pseudo-terminal (Options.PTY) with their standard input streamed from
// Options.Stdin while they run and their output delivered byte for byte to
// Options.Stdout. The escalation layer needs it to type su and doas
// passwords at their prompt.
type Terminal interface {
	Terminal()
}

// UserSwitcher is an optional Conn capability of connectors that switch
// users themselves, without sudo, su or doas on the host (docker's exec
// user, chroot's credentials, external programs that honour the options):
// the escalation layer passes their options through untouched.
type UserSwitcher interface {
	SwitchesUser()
}

// Wrapper is a Conn that decorates another one (the escalation layer).
type Wrapper interface {
	Unwrap() Conn
}

// As returns c, or the first Conn behind c's chain of Unwrap methods, that
// implements T, the way errors.As walks wrapped errors: optional
// capabilities are asked of the connector's own Conn, never re-exported
// by the decorators around it.
func As[T any](c Conn) (T, bool) {
	for c != nil {
		if t, ok := c.(T); ok {
			return t, true
		}
		w, ok := c.(Wrapper)
		if !ok {
			break
		}
		c = w.Unwrap()
	}
	var zero T
	return zero, false
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
