package facts_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/inventory"
)

// The engine's per-host cache is what a run's facts are cached in.
var _ facts.Cache = (*engine.Host)(nil)

// Facts of these tests, registered as modules register theirs.
var (
	// testWho is the user commands run as.
	testWho = facts.NewPlain(facts.Fact{
		Name: "test.Who",
		Command: func(facts.Args) (command.Command, error) {
			return command.Args("id", "-un"), nil
		},
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return strings.TrimSpace(out.Stdout()), nil
	})

	// testLines is a file's lines: nil when the file is missing, empty
	// for an empty file.
	testLines = facts.New(facts.Fact{
		Name:     "test.Lines",
		Args:     []string{"path"},
		Required: []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["path"] == "" {
				return command.Command{}, fmt.Errorf("path: empty")
			}
			q := command.Quoted(a["path"])
			return command.New("if", "test", "-f", q, ";", "then", "echo", "file", ";", "cat", q, ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, _ facts.Args) ([]string, error) {
		lines := out.StdoutLines()
		if len(lines) == 0 {
			return nil, nil
		}
		return append([]string{}, lines[1:]...), nil
	})
)

// localConn connects to this machine through the real local connector.
func localConn(t *testing.T) connector.Conn {
	t.Helper()
	d, _ := connector.Lookup(local.Kind)
	c, err := d.(connector.Opener).Open(&connector.Host{Name: local.HostName, Data: connector.Data{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		args facts.Args
		want error
	}{
		{"test.Nope", nil, facts.ErrUnknown},
		{"test.Lines", nil, facts.ErrArgs},
		{"test.Lines", facts.Args{"path": "/x", "mode": "1"}, facts.ErrArgs},
		{"test.Who", facts.Args{"x": "1"}, facts.ErrArgs},
		// The command refuses the value.
		{"test.Lines", facts.Args{"path": ""}, facts.ErrArgs},
		{"test.Lines", facts.Args{"path": "/x"}, nil},
		{"test.Who", nil, nil},
	} {
		_, err := facts.Check(tc.name, tc.args)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%s, %v) = %v, want %v", tc.name, tc.args, err, tc.want)
		}
	}
}

// A typed fact's value is the same through the registry (as the CLI and
// deploy files see it) and through Get; its zero value is null.
func TestTyped(t *testing.T) {
	ctx := context.Background()
	h := facts.Host{Name: "@local", Conn: localConn(t)}
	dir := t.TempDir()
	full, empty := filepath.Join(dir, "full"), filepath.Join(dir, "empty")
	os.WriteFile(full, []byte("a\nb\n"), 0o644)
	os.WriteFile(empty, nil, 0o644)

	for p, want := range map[string][]string{full: {"a", "b"}, empty: {}, filepath.Join(dir, "missing"): nil} {
		got, err := testLines.Get(ctx, h, p)
		if err != nil || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Errorf("Get %s = %#v, %v; want %#v", filepath.Base(p), got, err, want)
		}
		v, err := facts.Get(ctx, h.Conn, "test.Lines", facts.Args{"path": p}, connector.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// A missing file is an untyped nil, not a typed nil slice in an
		// interface: JSON and deploy files take it as null.
		if (want == nil) != (v == nil) {
			t.Errorf("registry value of %s = %#v", filepath.Base(p), v)
		}
	}
	if testLines.Name() != "test.Lines" || testWho.Name() != "test.Who" {
		t.Errorf("names %q, %q", testLines.Name(), testWho.Name())
	}
}

// fakeSource answers facts from a map, as a test of an operation might.
type fakeSource map[string]any

func (f fakeSource) Fact(_ context.Context, name string, _ facts.Args) (any, error) {
	if err, ok := f[name].(error); ok {
		return nil, err
	}
	return f[name], nil
}

func TestTypedGetFromSource(t *testing.T) {
	ctx := context.Background()
	if v, err := testWho.Get(ctx, fakeSource{"test.Who": "app"}); v != "app" || err != nil {
		t.Errorf("Get = %q, %v", v, err)
	}
	if v, err := testWho.Get(ctx, fakeSource{}); v != "" || err != nil {
		t.Errorf("Get of null = %q, %v", v, err)
	}
	// A source that answers with another type: an error, not a panic.
	_, err := testWho.Get(ctx, fakeSource{"test.Who": 42})
	if err == nil || !strings.Contains(err.Error(), "test.Who") || !strings.Contains(err.Error(), "int") {
		t.Errorf("Get of a wrong type: %v", err)
	}
	// The source's error reaches the caller unchanged.
	if _, err := testLines.Get(ctx, fakeSource{"test.Lines": os.ErrPermission}, "/x"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("Get with an error: %v", err)
	}
}

func TestNewNeedsItsOwnParser(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with Fact.Parse set: no panic")
		}
	}()
	facts.NewPlain(facts.Fact{
		Name:    "test.TwoParsers",
		Command: func(facts.Args) (command.Command, error) { return command.Args("true"), nil },
		Parse:   func(connector.Output, facts.Args) (any, error) { return nil, nil },
	}, func(connector.Output, facts.Args) (string, error) { return "", nil })
}

// A Host with the engine's cache gathers a fact once per host, arguments
// and user; Forget drops the answers.
func TestHostCachesOncePerHost(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Load(ctx, "@local", inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := engine.New(inv, engine.Config{})
	defer run.Close(ctx)
	if _, err := run.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h := run.Hosts()[0]
	cc := conntest.NewCounting(h.Conn)
	src := facts.Host{Name: h.Name, Conn: cc, Cache: h}
	for range 3 {
		if _, err := testWho.Get(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	sudo := src
	sudo.Opts = connector.Options{Unix: command.Unix{Sudo: true}}
	testWho.Get(ctx, sudo)
	if n := cc.Runs(); n != 2 {
		t.Errorf("ran %d commands, want 2 (one per fact and user)", n)
	}
	h.Forget("fact:")
	testWho.Get(ctx, src)
	if n := cc.Runs(); n != 3 {
		t.Errorf("after Forget: ran %d commands, want 3", n)
	}
	// Without a cache every call runs the command.
	src.Cache = nil
	testWho.Get(ctx, src)
	testWho.Get(ctx, src)
	if n := cc.Runs(); n != 5 {
		t.Errorf("without a cache: ran %d commands, want 5", n)
	}
}

func TestHostNotConnected(t *testing.T) {
	_, err := testWho.Get(context.Background(), facts.Host{Name: "web1"})
	if !errors.Is(err, connector.ErrNotConnected) || !strings.Contains(err.Error(), "web1") {
		t.Errorf("Get without a connection: %v", err)
	}
}

// An interrupted gathering is not kept: the next call asks again.
func TestHostForgetsInterrupted(t *testing.T) {
	inv, err := inventory.Load(context.Background(), "@local", inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := engine.New(inv, engine.Config{})
	defer run.Close(context.Background())
	if _, err := run.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := run.Hosts()[0]
	cc := conntest.NewCounting(h.Conn)
	src := facts.Host{Name: h.Name, Conn: cc, Cache: h}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testWho.Get(ctx, src); err == nil {
		t.Fatal("Get with a cancelled context: no error")
	}
	if v, err := testWho.Get(context.Background(), src); err != nil || v == "" {
		t.Errorf("Get after an interrupted one = %q, %v", v, err)
	}
}

// testGreeting uses testTool: its command depends on the tool the host
// has, and its parser sees which it was.
var (
	testTool = facts.NewPlain(facts.Fact{
		Name: "test.Tool",
		Command: func(facts.Args) (command.Command, error) {
			return command.Shell("echo printf"), nil
		},
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return strings.TrimSpace(out.Stdout()), nil
	})
	testGreeting = facts.New(facts.Fact{
		Name: "test.Greeting",
		Args: []string{"name"},
		Uses: []string{"test.Tool"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["test.Tool"] == "printf" {
				return command.New("printf", command.Quoted("hi %s\n"), command.Quoted(a["name"])), nil
			}
			return command.New("echo", "hi", command.Quoted(a["name"])), nil
		},
	}, facts.Arg("name"), func(out connector.Output, a facts.Args) (string, error) {
		return a["test.Tool"] + ": " + strings.TrimSpace(out.Stdout()), nil
	})
)

// A fact's Uses are gathered once per host, even across Forget("fact:"),
// and reach its command and parser; a caller cannot give them.
func TestUses(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Load(ctx, "@local", inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := engine.New(inv, engine.Config{})
	defer run.Close(ctx)
	if _, err := run.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h := run.Hosts()[0]
	cc := conntest.NewCounting(h.Conn)
	src := facts.Host{Name: h.Name, Conn: cc, Cache: h}
	for _, name := range []string{"a", "b", "a"} {
		v, err := testGreeting.Get(ctx, src, name)
		if err != nil || v != "printf: hi "+name {
			t.Fatalf("Greeting %s = %q, %v", name, v, err)
		}
	}
	if n := cc.Runs(); n != 3 {
		t.Errorf("ran %d commands, want 3 (the tool once, a greeting per name)", n)
	}
	h.Forget("fact:")
	testGreeting.Get(ctx, src, "a")
	if n := cc.Runs(); n != 4 {
		t.Errorf("after Forget: ran %d commands, want 4 (the tool is still known)", n)
	}
	// Without a cache, the tool is asked every time.
	if v, err := facts.Get(ctx, cc, "test.Greeting", facts.Args{"name": "c"}, connector.Options{}); err != nil || v != "printf: hi c" {
		t.Errorf("Get = %q, %v", v, err)
	}
	if n := cc.Runs(); n != 6 {
		t.Errorf("without a cache: ran %d commands, want 6", n)
	}
	if v, err := testTool.Get(ctx, facts.Host{Name: h.Name, Conn: h.Conn}); err != nil || v != "printf" {
		t.Errorf("the used fact alone = %q, %v", v, err)
	}
	if _, err := facts.Check("test.Greeting", facts.Args{"test.Tool": "echo"}); !errors.Is(err, facts.ErrArgs) {
		t.Errorf("Check with a used fact as argument: %v", err)
	}
}

// greetNatively answers test.NativeGreeting for some names.
func greetNatively(_ context.Context, conn connector.Conn, a facts.Args, _ connector.Options) (any, bool, error) {
	if conn == nil {
		return nil, false, errors.New("no connection given")
	}
	switch a["name"] {
	case "native":
		return "native: hi", true, nil
	case "null":
		return nil, true, nil
	case "broken":
		return nil, false, errors.New("native failure")
	}
	return nil, false, nil
}

// testNativeGreeting is testGreeting answered natively for some names.
var testNativeGreeting = facts.New(facts.Fact{
	Name:   "test.NativeGreeting",
	Args:   []string{"name"},
	Uses:   []string{"test.Tool"},
	Native: greetNatively,
	Command: func(a facts.Args) (command.Command, error) {
		return command.New("echo", "hi", command.Quoted(a["name"])), nil
	},
}, facts.Arg("name"), func(out connector.Output, a facts.Args) (string, error) {
	return "command: " + strings.TrimSpace(out.Stdout()), nil
})

// A fact's Native answers before its Uses and its command are gathered;
// when it declines, both run as usual; its error is the fact's.
func TestNative(t *testing.T) {
	ctx := context.Background()
	cc := conntest.NewCounting(localConn(t))
	src := facts.Host{Name: "@local", Conn: cc}
	if v, err := testNativeGreeting.Get(ctx, src, "native"); err != nil || v != "native: hi" || cc.Runs() != 0 {
		t.Errorf("native answer: %q, %v, %d commands run", v, err, cc.Runs())
	}
	if v, err := testNativeGreeting.Get(ctx, src, "null"); err != nil || v != "" || cc.Runs() != 0 {
		t.Errorf("native null: %q, %v, %d commands run", v, err, cc.Runs())
	}
	if v, err := testNativeGreeting.Get(ctx, src, "other"); err != nil || v != "command: hi other" || cc.Runs() != 2 {
		t.Errorf("declined: %q, %v, %d commands run, want 2 (tool and fact)", v, err, cc.Runs())
	}
	if _, err := testNativeGreeting.Get(ctx, src, "broken"); err == nil || !strings.Contains(err.Error(), "fact test.NativeGreeting: native failure") {
		t.Errorf("native error: %v", err)
	}
}
