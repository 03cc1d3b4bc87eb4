package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
)

// Connect to every host with error handling, run one command on all of
// them with sudo and a timeout, and read each host's result — pyinfra's
// host.connect() and run_shell_command(..., _sudo=True, _timeout=30).
func Example() {
	ctx := context.Background()
	inv, err := inventory.Load(ctx, "@local", inventory.Options{})
	if err != nil {
		fmt.Println("bad inventory:", err)
		return
	}
	run := engine.New(inv, engine.Config{Parallel: 10})
	defer run.Close(ctx) // always disconnects, also after failures

	connected, err := run.Connect(ctx)
	for _, r := range connected {
		if errors.Is(r.Err, connector.ErrConnect) {
			fmt.Println("failed to connect:", r.Err)
		}
	}
	if err != nil {
		return // no host left, or too many failed
	}

	results, _ := run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
		args, err := h.Args(map[string]any{"_sudo": true, "_timeout": 30})
		if err != nil {
			return nil, err
		}
		return h.Run(ctx, command.Args("id", "-un"), args)
	})
	for _, r := range results {
		if r.Err != nil {
			fmt.Println(r.Host.Name, "failed:", r.Err)
			continue
		}
		fmt.Println(r.Host.Name, "stdout:", r.Value.(connector.Result).StdoutLines())
	}
	// Output: @local stdout: [root]
}

// Global arguments are resolved per host: the call's own keywords beat
// the deploy's, which beat host data, which beat the run's flags.
func ExampleHost_Args() {
	inv, _ := inventory.Load(context.Background(), "@local", inventory.Options{
		Data: map[string]any{"_sudo_user": "app"}, // like --data _sudo_user=app
	})
	run := engine.New(inv, engine.Config{
		Args: map[string]any{"_sudo": true, "_timeout": 5}, // like --sudo --timeout 5
	})
	h := run.Hosts()[0]
	args, _ := h.Args(map[string]any{"_chdir": "/srv"})
	fmt.Println(args.Options.Wrap(command.Shell("make install")))
	fmt.Println(args.Options.Timeout == 5*time.Second)
	// Output:
	// sudo -H -n -u app sh -c 'cd /srv && make install'
	// true
}

// A run stops when more hosts failed than allowed.
func ExampleConfig_failPercent() {
	ctx := context.Background()
	inv, _ := inventory.Load(ctx, "@local", inventory.Options{})
	run := engine.New(inv, engine.Config{FailPercent: engine.Percent(0)})
	defer run.Close(ctx)
	run.Connect(ctx)
	_, err := run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
		return h.Conn.Run(ctx, command.Shell("exit 3"), connector.Options{})
	})
	fmt.Println(errors.Is(err, engine.ErrFailPercent), len(run.Failed()))
	// Output: true 1
}
