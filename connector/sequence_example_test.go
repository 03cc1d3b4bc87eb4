package connector_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// A host's commands in order, each reported as it ends: a failure skips
// the rest of its operation (Group) and, unless KeepGoing, everything
// after it. Over ssh the commands go to the host in one write (send-ahead);
// a connector without a Sequencer runs them one Run after the other.
func ExampleRunSequence() {
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	ctx := context.Background()
	if err := conn.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	cmds := []connector.Queued{
		{Cmd: command.Shell("echo first"), Group: 0},
		{Cmd: command.Shell("exit 3"), Group: 1, KeepGoing: true}, // _ignore_errors
		{Cmd: command.Shell("echo rest of its operation"), Group: 1, KeepGoing: true},
		{Cmd: command.Shell("echo next operation; exit 4"), Group: 2},
		{Cmd: command.Shell("echo never"), Group: 3},
	}
	connector.RunSequence(ctx, conn, "@local", cmds, func(i int, res connector.Result, err error) {
		fmt.Printf("%d: %q %v\n", i, res.Stdout(), err)
	})
	// Output:
	// 0: "first" <nil>
	// 1: "" @local: command failed with exit code 3
	// 2: "" @local: not run: an earlier command failed
	// 3: "next operation" @local: command failed with exit code 4
	// 4: "" @local: not run: an earlier command failed
}
