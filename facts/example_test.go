package facts_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// A module declares its facts as typed descriptors (operations/files has
// files.File, files.FileContents, ...): the registry gets the untyped form,
// for `goinfra fact` and deploy files; Go code gets a T.
var (
	// kernel is the kernel's name.
	kernel = facts.NewPlain(facts.Fact{
		Name:        "example.Kernel",
		Description: "the kernel name (uname -s)",
		Command: func(facts.Args) (command.Command, error) {
			return command.Args("uname", "-s"), nil
		},
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return strings.TrimSpace(out.Stdout()), nil
	})

	// size is a regular file's size in bytes: nil when there is none.
	size = facts.New(facts.Fact{
		Name:        "example.Size",
		Description: "path=PATH: the size of a regular file, null if there is none",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q := command.Quoted(a["path"])
			return command.New("if", "test", "-f", q, ";", "then", "wc", "-c", "<", q, ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, _ facts.Args) (*int64, error) {
		s := strings.TrimSpace(out.Stdout())
		if s == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return &n, err
	})
)

// connectLocal opens this machine through the local connector.
func connectLocal(ctx context.Context) (connector.Conn, error) {
	d, _ := connector.Lookup("local")
	conn, err := d.(connector.Opener).Open(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err != nil {
		return nil, err
	}
	return conn, conn.Connect(ctx)
}

// Read typed facts through a Host: a connection, the options facts run
// with, and a cache (none here).
func ExampleNew() {
	ctx := context.Background()
	conn, err := connectLocal(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	h := facts.Host{Name: "@local", Conn: conn}

	k, _ := kernel.Get(ctx, h)
	fmt.Println(k)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "motd")
	os.WriteFile(path, []byte("hello\n"), 0o600)
	n, _ := size.Get(ctx, h, path)
	fmt.Println(*n)
	missing, err := size.Get(ctx, h, path+".old")
	fmt.Println(missing == nil, err)
	// Output:
	// Linux
	// 6
	// true <nil>
}

// Gather a fact by name on a connection, as `goinfra @local fact
// example.Size path=...` does: the value is untyped (a *int64 here), nil
// for null.
func ExampleGet() {
	ctx := context.Background()
	conn, err := connectLocal(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	v, _ := facts.Get(ctx, conn, "example.Size", facts.Args{"path": dir + "/none"}, connector.Options{})
	fmt.Println(v)
	_, err = facts.Get(ctx, conn, "example.Size", nil, connector.Options{})
	fmt.Println(err)
	// Output:
	// <nil>
	// bad fact arguments: example.Size needs the argument path=VALUE
}

// memo is a Cache in a map; in a run, the engine's host is the cache.
type memo map[string]any

func (m memo) Memo(key string, fill func() (any, error)) (any, error) {
	if v, ok := m[key]; ok {
		return v, nil
	}
	v, err := fill()
	if err == nil {
		m[key] = v
	}
	return v, err
}

func (m memo) Forget(prefix string) {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			delete(m, k)
		}
	}
}

// A Host with a cache runs a fact's command once; after a change to the
// host, Forget("fact:") makes the next Get ask again.
func ExampleHost() {
	ctx := context.Background()
	conn, err := connectLocal(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	cache := memo{}
	h := facts.Host{Name: "@local", Conn: conn, Cache: cache}
	ran := 0
	h.Opts.OnCommand = func(string) { ran++ }

	for range 2 {
		k, _ := kernel.Get(ctx, h)
		fmt.Println(k, ran)
	}
	cache.Forget("fact:")
	kernel.Get(ctx, h)
	fmt.Println("after Forget:", ran)
	// Output:
	// Linux 1
	// Linux 1
	// after Forget: 2
}

// Register a fact of your own without a Go type; it then works in
// `goinfra fact` too.
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
