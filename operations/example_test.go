package operations_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// fakeHost answers facts from a map, as a test of an operation's plan might.
type fakeHost map[string]any

func (fakeHost) Name() string         { return "web1" }
func (fakeHost) Data() connector.Data { return connector.Data{} }
func (h fakeHost) Fact(_ context.Context, name string, args facts.Args) (any, error) {
	return h[name+" "+args["path"]], nil
}

// An operation plans from facts, read through their typed descriptors
// (files.File.Get is the file's *files.RegularInfo, nil when it is missing):
// it returns only the steps needed, so a second run that finds the state
// already there changes nothing.
func ExampleRegister() {
	operations.Register(operations.Op{
		Name: "example.marker",
		Args: []operations.Arg{{Name: "path", Type: connector.String, Required: true}},
		Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
			f, err := files.File.Get(ctx, h, args.String("path"))
			if err != nil || f != nil {
				return &operations.Plan{}, err // present: nothing to do
			}
			return &operations.Plan{Steps: []operations.Step{
				&operations.Command{Cmd: command.Args("touch", args.String("path"))},
			}}, nil
		},
	})

	op, _ := operations.Lookup("example.marker")
	args, _ := operations.CheckArgs(op, map[string]any{"path": "/srv/my app/ready"})
	for _, h := range []fakeHost{{}, {"files.File /srv/my app/ready": &files.RegularInfo{}}} {
		p, _ := op.Plan(context.Background(), h, args)
		fmt.Println(p.Changed(), len(p.Steps))
		for _, s := range p.Steps {
			fmt.Println(s.Describe())
		}
	}
	_, err := operations.CheckArgs(op, map[string]any{"dest": "/tmp"})
	fmt.Println(err)
	// Output:
	// true 1
	// touch '/srv/my app/ready'
	// false 0
	// example.marker: unknown argument dest (accepts [path])
}

// An operation that needs another's work first takes that operation's
// steps as its own, as pyinfra's operations yield from another's _inner:
// here files.directory's, none when the directory is already there.
func ExampleInnerSteps() {
	plan := func(h operations.Host) {
		steps, err := operations.InnerSteps(context.Background(), h, "files.directory", map[string]any{"path": "/srv/site"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(len(steps), "steps")
		for _, s := range steps {
			fmt.Println(s.Describe())
		}
	}
	plan(fakeHost{})
	plan(fakeHost{"files.Directory /srv/site": &files.DirInfo{}})
	_, err := operations.InnerSteps(context.Background(), fakeHost{}, "example.missing", nil)
	fmt.Println(err)
	// Output:
	// 1 steps
	// mkdir -p /srv/site
	// 0 steps
	// operation example.missing is not registered (its module is not linked in: import operations/builtin)
}
