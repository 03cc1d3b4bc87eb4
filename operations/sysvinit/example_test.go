package sysvinit_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/sysvinit"
)

// Status exit codes per script: 0 runs, 1-3 does not, others unknown.
func ExampleParseStatus() {
	for name, running := range sysvinit.ParseStatus([]string{"ssh=0", "hwclock.sh=3", "broken=4"}) {
		if running == nil {
			fmt.Println(name, "unknown")
		}
	}
	st := sysvinit.ParseStatus([]string{"ssh=0", "hwclock.sh=3"})
	fmt.Println(*st["ssh"], *st["hwclock.sh"])
	// Output:
	// broken unknown
	// true false
}
