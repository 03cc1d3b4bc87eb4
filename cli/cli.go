// Package cli is the goinfra command line: flags, the grammar
// `goinfra [flags] INVENTORY OPERATIONS…`, output and exit codes. It is
// thin over the library (inventory, engine, facts) and public so that a
// program which registers its own connector kinds gets the same command:
//
//	import (
//		_ "github.com/goinfra-dev/goinfra/connectors/builtin"
//		"github.com/goinfra-dev/goinfra/cli"
//	)
//
//	func main() { os.Exit(cli.Main(os.Args[1:])) }
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit statuses, as the README documents them.
const (
	ExitOK          = 0
	ExitFailed      = 1   // a host failed (connect, command, operation)
	ExitUsage       = 2   // bad usage or input, found before anything changed
	ExitDeclined    = 3   // the changes were not confirmed at the prompt: nothing changed
	ExitInterrupted = 130 // stopped by an interrupt (Main: 128 + the signal's number)
)

// Version is goinfra's version, set at build time with
// -ldflags "-X github.com/goinfra-dev/goinfra/cli.Version=v1.2.3"; when
// unset, the module version from the build information is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// IO is where a run reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment. When nil, goinfra's secret variables
	// (GOINFRA_*PASSWORD*, *PASSPHRASE*, *SECRET*, *TOKEN*) are moved out of
	// the process environment first, so that no command it starts
	// inherits them, and os.Getenv reads the rest.
	Getenv func(string) string
}

// Main runs goinfra with args (without the program name) on the process's
// standard streams and returns the exit status. SIGINT (Ctrl-C), SIGTERM
// and SIGHUP (the terminal closed) all end a run the same way: running
// commands are stopped on every host, every host is disconnected, and the
// status is 128 + the signal's number (130, 143, 129). A second signal
// exits as soon as the stop has been sent, within about a second (see
// signals.go).
func Main(args []string) int {
	return runWithSignals(args, IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}

// errInterrupted is matched (errors.Is) by the cause of a context
// cancelled by a signal.
var errInterrupted = errors.New("interrupted")

// interrupted is the error of a run whose ctx ended: exit status 130,
// with the signal that ended it when there was one.
func interrupted(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == nil || !errors.Is(cause, errInterrupted) {
		cause = errInterrupted
	}
	return &exitError{code: ExitInterrupted, err: cause}
}

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error // printed unless nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Run runs goinfra with args on the given streams until ctx ends, and
// returns the exit status. When ctx is cancelled, the run stops cleanly
// (running commands stopped, every host disconnected) and the status is
// 130.
func Run(ctx context.Context, args []string, stdio IO) (code int) {
	defer func() {
		// A bug must still end in one clear line, not a stack trace.
		if p := recover(); p != nil {
			fmt.Fprintf(stdio.Stderr, "goinfra: internal error: %v (please report this)\n", p)
			code = ExitFailed
		}
	}()
	if stdio.Getenv == nil {
		stdio.Getenv = takeSecrets()
	}
	if stdio.Stdin == nil {
		stdio.Stdin = strings.NewReader("")
	}
	a := &app{io: stdio, args: args}
	root := a.command()
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	err := root.ExecuteContext(ctx)
	if a.chdirBack != "" {
		// A program that calls Run keeps its own working directory.
		if cerr := os.Chdir(a.chdirBack); cerr != nil && err == nil {
			err = &exitError{code: ExitFailed, err: fmt.Errorf("changing back from --chdir: %w", cerr)}
		}
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			a.printError(ee.err)
		}
		return ee.code
	}
	if ctx.Err() != nil {
		return ExitInterrupted
	}
	// Anything else cobra returns is a usage error: unknown flag, bad
	// flag value.
	a.printError(err)
	return ExitUsage
}

func (a *app) printError(err error) {
	msg := oneLine(err.Error())
	fmt.Fprintf(a.io.Stderr, "%s %s\n", a.paint(a.errColor(), "goinfra: error:"), msg)
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	return s
}
