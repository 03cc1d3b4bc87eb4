package external_test

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/external"
)

// greeter is an inventory-only kind: "@greeter/NAME" is one host, run by ssh.
type greeter struct{}

func (greeter) DataKeys() []connector.DataKey {
	return []connector.DataKey{{Name: "greeter_port", Type: connector.Int, Default: 22, Description: "port"}}
}

func (greeter) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	return []connector.Target{{Name: arg + ".example.com", Groups: []string{"greeted"}}}, nil
}

// Serve answers the protocol for a Go driver; this is what a program built
// with external.Main does on its stdin and stdout.
func ExampleServe() {
	requests := strings.NewReader(`{"type":"hello","protocol":1}
{"type":"expand","arg":"web"}
`)
	external.Serve(context.Background(), "greeter", greeter{}, requests, os.Stdout, slog.New(slog.DiscardHandler))
	// Output:
	// {"type":"hello","protocol":1,"name":"greeter","data_keys":[{"name":"greeter_port","type":"int","default":22,"description":"port"}]}
	// {"type":"targets","targets":[{"name":"web.example.com","groups":["greeted"]}]}
}
