package escalate_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// Put the layer around a connector's connection, as the engine does for
// every host: the connection then runs sudo, su and doas commands with
// their passwords (never on a command line) and moves files as another
// user. Prompts, when sudo wants a password none was given for, are shared
// by the hosts of a run through one Asker.
func ExampleWrap() {
	asker := escalate.NewAsker(nil, false) // nil: never ask, fail the host with a hint
	conn := escalate.Wrap(local.New(nil), escalate.Config{Host: "@local", Passwords: asker})
	defer conn.Close()
	res, err := conn.Run(context.Background(), command.Shell("echo hello"), connector.Options{})
	fmt.Println(res.Stdout(), err)
	// Optional capabilities are asked of the connector behind the layer.
	_, term := connector.As[connector.Terminal](conn)
	fmt.Println("terminal:", term)
	// Output:
	// hello <nil>
	// terminal: true
}
