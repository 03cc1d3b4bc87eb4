package server_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/operations"
)

// server.reboot runs reboot (a lost connection counts as success), then
// waits, drops the connection and reconnects until reboot_timeout.
func Example_reboot() {
	op, _ := operations.Lookup("server.reboot")
	args, _ := operations.CheckArgs(op, map[string]any{"delay": 30, "reboot_timeout": 600})
	p, _ := op.Plan(context.Background(), exampleHost{}, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// reboot
	// wait 30s, then reconnect every 1s for up to 600s
}
