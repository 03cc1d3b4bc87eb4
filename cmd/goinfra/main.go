// Command goinfra runs commands, gathers facts and moves files on many
// hosts at once. See the README and `goinfra --help`.
package main

import (
	"os"

	"github.com/goinfra-dev/goinfra/cli"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
