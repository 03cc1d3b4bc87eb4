package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// exampleOps registers example.touch: create a file unless it exists.
func exampleOps() {
	if _, ok := operations.Lookup("example.touch"); ok {
		return
	}
	operations.Register(operations.Op{
		Name: "example.touch",
		Args: []operations.Arg{{Name: "path", Type: connector.String, Required: true}},
		Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
			info, err := files.File.Get(ctx, h, args.String("path"))
			if err != nil || info != nil {
				return &operations.Plan{}, err
			}
			return &operations.Plan{Steps: []operations.Step{
				&operations.Command{Cmd: command.Args("touch", args.String("path"))},
			}}, nil
		},
	})
}

// Load a deploy file, plan it on the hosts of a run, execute the plan.
func Example() {
	exampleOps()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "deploy-example")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "deploy.star")
	os.WriteFile(file, []byte(`
for name in ["a", "b"]:
    example.touch(name="touch " + name, path="`+dir+`/" + name)
`), 0o644)

	d, err := deploy.Load(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	inv, _ := inventory.Load(ctx, "@local", inventory.Options{})
	for round := 1; round <= 2; round++ {
		run := engine.New(inv, engine.Config{})
		run.Connect(ctx)
		plan, err := d.Plan(ctx, run)
		if err != nil {
			fmt.Println(err)
			return
		}
		d.Execute(ctx, run, plan, deploy.Hooks{})
		run.Close(ctx)
		for _, op := range plan.Ops {
			fmt.Printf("run %d: %s: %s\n", round, op.Name, op.Hosts["@local"].Status)
		}
	}
	// Output:
	// run 1: touch a: success
	// run 1: touch b: success
	// run 2: touch a: no change
	// run 2: touch b: no change
}
