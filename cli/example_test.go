package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/goinfra-dev/goinfra/cli"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
)

// A program that registers connector kinds of its own gets the same
// command line by calling cli.Main (or cli.Run, to choose the streams).
func ExampleRun() {
	code := cli.Run(context.Background(),
		[]string{"@local", "exec", "--", "printf", "%s\n", "hello world"},
		cli.IO{Stdout: os.Stdout, Stderr: os.Stderr})
	fmt.Println("exit status", code)
	// Output:
	// [@local] hello world
	// exit status 0
}
