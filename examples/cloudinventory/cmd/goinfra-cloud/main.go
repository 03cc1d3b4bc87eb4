// Command goinfra-cloud is goinfra with one more connector kind, @cloud,
// compiled in: the whole program is the CLI, the built-in kinds and
// operations, and a blank import that registers the new kind.
package main

import (
	"os"

	"github.com/goinfra-dev/goinfra/cli"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
	_ "github.com/goinfra-dev/goinfra/examples/cloudinventory"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
