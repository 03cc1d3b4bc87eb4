package facts_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// Gather facts on a connection, as pyinfra's host.get_fact(File, path=...).
func ExampleGet() {
	ctx := context.Background()
	d, _ := connector.Lookup("local")
	conn, _ := d.(connector.Opener).Open(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err := conn.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	kernel, _ := facts.Get(ctx, conn, "server.Kernel", nil, connector.Options{})
	fmt.Println(kernel)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "motd")
	os.WriteFile(path, []byte("hello\n"), 0o600)

	f, _ := facts.Get(ctx, conn, "files.File", facts.Args{"path": path}, connector.Options{})
	info := f.(*facts.FileInfo)
	fmt.Println(info.Mode, info.Size)

	missing, _ := facts.Get(ctx, conn, "files.File", facts.Args{"path": path + ".old"}, connector.Options{})
	fmt.Println(missing == nil)
	// Output:
	// Linux
	// 600 6
	// true
}

// Register a fact of your own; it then works in `goinfra fact` too.
func ExampleRegister() {
	facts.Register(facts.Fact{
		Name:        "example.Uptime",
		Description: "seconds since boot",
		Command: func(facts.Args) (command.Command, error) {
			return command.Args("cut", "-d.", "-f1", "/proc/uptime"), nil
		},
		Parse: func(out connector.Output, _ facts.Args) (any, error) {
			var secs int
			_, err := fmt.Sscan(out.Stdout(), &secs)
			return secs, err
		},
	})
	_, err := facts.Check("example.Uptime", nil)
	fmt.Println(err)
	// Output: <nil>
}
