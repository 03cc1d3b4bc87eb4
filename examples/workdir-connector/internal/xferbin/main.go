// Command xferbin is goinfra for the workdir example's transfer test: the
// real command line with two streaming operations, xfer.put and xfer.get,
// that move a file without reading it whole (and without the checks a real
// files.put makes), so the test measures the memory of goinfra's transfer
// path — engine, connection and the external protocol — and nothing else.
package main

import (
	"context"
	"io"
	"os"

	"github.com/goinfra-dev/goinfra/cli"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
	"github.com/goinfra-dev/goinfra/operations"
)

func main() {
	args := []operations.Arg{
		{Name: "src", Type: connector.String, Required: true},
		{Name: "dest", Type: connector.String, Required: true},
	}
	operations.Register(operations.Op{
		Name: "xfer.put",
		Args: args,
		Plan: func(_ context.Context, _ operations.Host, a connector.Data) (*operations.Plan, error) {
			src := a.String("src")
			return &operations.Plan{Steps: []operations.Step{&operations.Upload{
				Src: src, Dest: a.String("dest"),
				Open: func() (io.ReadCloser, error) { return os.Open(src) },
			}}}, nil
		},
	})
	operations.Register(operations.Op{
		Name: "xfer.get",
		Args: args,
		Plan: func(_ context.Context, _ operations.Host, a connector.Data) (*operations.Plan, error) {
			return &operations.Plan{Steps: []operations.Step{&operations.Download{Src: a.String("src"), Dest: a.String("dest")}}}, nil
		},
	})
	os.Exit(cli.Main(os.Args[1:]))
}
