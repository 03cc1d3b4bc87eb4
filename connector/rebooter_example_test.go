package connector_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
)

// keepsStops is a connection that owes the stop of commands a lost
// connection left running.
type keepsStops struct {
	connector.Conn
	owed int
}

func (k *keepsStops) Rebooted() { k.owed = 0 }

// After a reboot the commands a lost connection left running are gone:
// server.reboot tells the connector through its Rebooter capability, which
// As finds behind wrappers such as the escalation layer.
func ExampleRebooter() {
	conn := &keepsStops{owed: 1}
	if r, ok := connector.As[connector.Rebooter](conn); ok {
		r.Rebooted()
	}
	fmt.Println("stops owed:", conn.owed)
	// Output: stops owed: 0
}
