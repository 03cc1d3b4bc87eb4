//go:build unix

package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// Open the local host the way an inventory does (look the kind up by name,
// expand "@local", open a connection), connect with error handling, and run
// a command with sudo and a timeout: pyinfra's
// run_shell_command(StringCommand("echo", ...), _sudo=True, _timeout=30).
func Example() {
	ctx := context.Background()
	kind, _ := connector.Lookup("local")
	targets, err := kind.Expand(ctx, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := targets[0]
	conn, err := kind.(connector.Opener).Open(&connector.Host{Name: t.Name, Groups: t.Groups, Data: connector.Data{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := conn.Connect(ctx); err != nil {
		if errors.Is(err, connector.ErrConnect) {
			fmt.Println("failed to connect:", err)
		}
		return
	}
	defer conn.Close()
	fmt.Println("connected to", t.Name)

	res, err := conn.Run(ctx, command.Args("echo", "hello from", "root"), connector.Options{
		Unix:    command.Unix{Sudo: true},
		Timeout: 30 * time.Second,
	})
	if err != nil {
		fmt.Println("stderr:", res.StderrLines(), err)
		return
	}
	fmt.Println("stdout:", res.StdoutLines())
	// Output:
	// connected to @local
	// stdout: [hello from root]
}

// Failures are typed: a disallowed exit code is a *connector.CommandError,
// a command past its timeout a *connector.TimeoutError, and it is stopped
// with everything it started.
func ExampleConn_Run_errors() {
	ctx := context.Background()
	conn := local.New(nil)

	_, err := conn.Run(ctx, command.Shell("echo out; echo err >&2; exit 3"), connector.Options{})
	var ce *connector.CommandError
	if errors.As(err, &ce) {
		fmt.Println("exit code", ce.ExitCode, errors.Is(err, connector.ErrCommand))
	}

	_, err = conn.Run(ctx, command.Shell("sleep 30"), connector.Options{Timeout: 100 * time.Millisecond})
	fmt.Println(err, errors.Is(err, connector.ErrTimeout))

	res, err := conn.Run(ctx, command.Shell("exit 3"), connector.Options{SuccessExitCodes: []int{0, 3}})
	fmt.Println("allowed:", res.ExitCode, err)
	// Output:
	// exit code 3 true
	// @local: command timed out after 100ms (stopped) true
	// allowed: 3 <nil>
}

// Stream output line by line as it arrives, prefixed with the host, as
// pyinfra's print_input / print_output do.
func ExampleConn_Run_streaming() {
	conn := local.New(nil)
	_, err := conn.Run(context.Background(), command.Shell("echo one; echo two"), connector.Options{
		OnCommand: func(masked string) { fmt.Println("[@local] >>>", masked) },
		OnLine:    func(l connector.Line) { fmt.Printf("[@local] %s: %s\n", l.Stream, l.Text) },
	})
	fmt.Println(err)
	// Output:
	// [@local] >>> sh -c 'echo one; echo two'
	// [@local] stdout: one
	// [@local] stdout: two
	// <nil>
}

// Put a file from memory and get it back into memory (pyinfra's put_file
// with a StringIO and get_file into a BytesIO).
func ExampleConn_Put() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	conn := local.New(nil)

	dst := filepath.Join(dir, "hello.txt")
	if err := conn.Put(ctx, strings.NewReader("Hello, World!"), dst, connector.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if err := conn.Get(ctx, dst, &buf, connector.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", buf.String())

	err := conn.Get(ctx, filepath.Join(dir, "missing"), &buf, connector.Options{})
	fmt.Println(errors.Is(err, connector.ErrTransfer))
	// Output:
	// "Hello, World!"
	// true
}
