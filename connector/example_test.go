package connector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// greeter is an inventory-only kind: "@greeter/a,b" names two hosts, which
// the default kind (ssh) then runs. A kind that executes also implements
// connector.Opener.
type greeter struct{}

func (greeter) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, errors.New("@greeter needs names: @greeter/a,b")
	}
	var out []connector.Target
	for _, n := range strings.Split(arg, ",") {
		out = append(out, connector.Target{Name: n, Data: map[string]any{"greeting": "hello " + n}})
	}
	return out, nil
}

func (greeter) DataKeys() []connector.DataKey {
	return []connector.DataKey{{Name: "greeting", Type: connector.String, Description: "what to say"}}
}

// Kinds are registered by name, as database/sql drivers are, usually from
// the init function of their package.
func ExampleRegister() {
	connector.Register("greeter", greeter{})
	d, _ := connector.Lookup("greeter")
	targets, _ := d.Expand(context.Background(), "web1,web2")
	for _, t := range targets {
		fmt.Println(t.Name, t.Data["greeting"])
	}
	fmt.Println("executes:", connector.Executes(d))
	// Output:
	// web1 hello web1
	// web2 hello web2
	// executes: false
}

// Host data is checked against the kind's declared keys when hosts are set
// up: values are converted to the key's type, defaults filled in, and a
// wrong type names the host, the key and both types.
func ExampleData_Check() {
	keys := []connector.DataKey{
		{Name: "ssh_port", Type: connector.Int, Default: 22},
		{Name: "ssh_connect_timeout", Type: connector.Duration, Default: 10 * time.Second},
	}
	// Text from the command line (--data ssh_port=2222) is typed first.
	d := connector.Data{"ssh_port": connector.ParseValue("2222")}
	if err := d.Check("web1", keys); err != nil {
		fmt.Println(err)
	}
	fmt.Println(d.Int("ssh_port"), d.Duration("ssh_connect_timeout"))

	bad := connector.Data{"ssh_port": "twenty-two"}
	fmt.Println(bad.Check("web1", keys))
	// Output:
	// 2222 10s
	// host web1: data key ssh_port: expected int, given string "twenty-two"
}

// Every connector reports failures the same way: a typed error that
// errors.Is matches against a class, with the host in its message.
func ExampleError() {
	cause := errors.New("dial tcp 10.0.0.1:22: i/o timeout")
	err := fmt.Errorf("running deploy: %w", connector.Errorf("web1", connector.ErrConnect, "connecting: %w", cause))

	fmt.Println(errors.Is(err, connector.ErrConnect), errors.Is(err, connector.ErrAuth))
	var he *connector.Error
	if errors.As(err, &he) {
		fmt.Println(he.Host, errors.Is(he, cause))
	}
	// Output:
	// true false
	// web1 true
}

// Command output keeps stdout and stderr lines in the order they arrived.
func ExampleRecorder() {
	rec := connector.NewRecorder(nil)
	fmt.Fprint(rec.Stdout(), "one\n")
	fmt.Fprint(rec.Stderr(), "warning\n")
	fmt.Fprint(rec.Stdout(), "two")
	rec.Flush()
	out := rec.Output()
	fmt.Printf("stdout %q\nstderr %q\n", out.Stdout(), out.Stderr())
	fmt.Println(out.Combined())
	// Output:
	// stdout "one\ntwo"
	// stderr "warning"
	// one
	// warning
	// two
}
