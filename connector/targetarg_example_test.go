package connector_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
)

// rack is a kind whose argument is one of a few known racks: it tells
// shell completion what "@rack/" takes and which values there are.
type rack struct{ greeter }

func (rack) TargetArg() (usage string, optional bool) { return "rack name", false }

func (rack) CompleteArg(_ context.Context, prefix string) []string {
	var out []string
	for _, r := range []string{"r1", "r2", "spare"} {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Completion asks a kind what may follow "@kind/" through the optional
// TargetArger and ArgCompleter capabilities: `goinfra @rack/r<TAB>`
// offers @rack/r1 and @rack/r2.
func ExampleArgCompleter() {
	var d connector.Driver = rack{}
	if ta, ok := d.(connector.TargetArger); ok {
		usage, optional := ta.TargetArg()
		fmt.Printf("@rack/<%s> (bare @rack too: %v)\n", usage, optional)
	}
	if ac, ok := d.(connector.ArgCompleter); ok {
		fmt.Println(ac.CompleteArg(context.Background(), "r"))
	}
	// Output:
	// @rack/<rack name> (bare @rack too: false)
	// [r1 r2]
}
