package apk_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

type exampleHost map[string]any

func (exampleHost) Name() string         { return "alpine1" }
func (exampleHost) Data() connector.Data { return connector.Data{} }
func (h exampleHost) Fact(_ context.Context, name string, _ facts.Args) (any, error) {
	return h[name], nil
}

// apk.packages removes only what apk lists installed.
func Example_packages() {
	op, _ := operations.Lookup("apk.packages")
	args, _ := operations.CheckArgs(op, map[string]any{"packages": []any{"curl", "vim"}, "present": false})
	h := exampleHost{"apk.ApkPackages": map[string][]string{"curl": {"8.5.0-r0"}}}
	p, _ := op.Plan(context.Background(), h, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// apk del curl
}
