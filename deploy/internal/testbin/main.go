// Command testbin is goinfra for the deploy package's end-to-end tests:
// the real command (every built-in connector kind and operation) plus a
// connector kind "twin" that runs hosts @twin/NAME on this machine (as
// @local does), so that a test has several independent local hosts.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goinfra-dev/goinfra/cli"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
	"github.com/goinfra-dev/goinfra/connectors/local"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

type twin struct{}

func (twin) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, fmt.Errorf("@twin needs a name: @twin/NAME")
	}
	return []connector.Target{{Name: "@twin/" + arg, Data: map[string]any{}, Groups: []string{"@twin"}}}, nil
}
func (twin) DataKeys() []connector.DataKey { return nil }
func (twin) Open(h *connector.Host) (connector.Conn, error) {
	return local.New(h), nil
}

func main() {
	connector.Register("twin", twin{})
	os.Exit(cli.Main(os.Args[1:]))
}
