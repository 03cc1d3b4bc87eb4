package server_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshtest"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/server"
)

// testHost is an operations.Host over a real connection. Facts are
// gathered fresh on every call (no cache), so each plan sees the host as
// it is.
type testHost struct {
	name string
	conn connector.Conn
	opts connector.Options
	dir  string
}

func (h *testHost) Name() string         { return h.name }
func (h *testHost) Data() connector.Data { return connector.Data{} }
func (h *testHost) LocalDir() string     { return h.dir }
func (h *testHost) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	return facts.Get(ctx, h.conn, name, args, h.opts)
}

var (
	_ operations.Host       = (*testHost)(nil)
	_ operations.LocalDirer = (*testHost)(nil)
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// localHost is @local as root (the tests add users and groups).
func localHost(t testing.TB) *testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "the server tests add users: run them as root")
	}
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err := conn.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testHost{name: "@local", conn: conn, dir: t.TempDir()}
}

// fleetHost starts one Debian sshd of the test fleet and connects to it
// as the passwordless-sudo user, with _sudo.
func fleetHost(t *testing.T, mode sshfleet.Mode) (*testHost, *sshfleet.Server) {
	t.Helper()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: mode})
	s := f.Servers[0]
	conn, _ := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	return &testHost{name: s.Name, conn: conn, dir: t.TempDir(),
		opts: connector.Options{Unix: command.Unix{Sudo: true}}}, s
}

func plan(t *testing.T, h *testHost, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p, err := tryPlan(t, h, name, args)
	if err != nil {
		t.Fatalf("plan %s %v: %v", name, args, err)
	}
	return p
}

func tryPlan(t testing.TB, h *testHost, name string, args map[string]any) (*operations.Plan, error) {
	t.Helper()
	op, ok := operations.Lookup(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return op.Plan(ctxT(t), h, checked)
}

// apply executes a plan's steps on h and returns their output.
func apply(t *testing.T, h *testHost, p *operations.Plan) string {
	t.Helper()
	var out strings.Builder
	for _, s := range p.Steps {
		res, err := operations.Execute(ctxT(t), h.conn, s, h.opts)
		if err != nil {
			t.Fatalf("%s: %v: %s", s.Describe(), err, res.Output.Stderr())
		}
		out.WriteString(res.Output.Stdout())
	}
	return out.String()
}

// converge plans name (which must change something), applies it, and
// checks that a second plan is empty. It returns the first plan.
func converge(t *testing.T, h *testHost, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p := plan(t, h, name, args)
	if !p.Changed() {
		t.Fatalf("%s %v: first plan changes nothing", name, args)
	}
	apply(t, h, p)
	if again := plan(t, h, name, args); again.Changed() {
		t.Fatalf("%s %v: second plan is not empty: %s", name, args, describe(again))
	}
	return p
}

func noChange(t *testing.T, h *testHost, name string, args map[string]any) {
	t.Helper()
	if p := plan(t, h, name, args); p.Changed() {
		t.Fatalf("%s %v: plans %s, want no change", name, args, describe(p))
	}
}

func describe(p *operations.Plan) string {
	var l []string
	for _, s := range p.Steps {
		l = append(l, s.Describe())
	}
	return strings.Join(l, "; ")
}

// run runs a shell command on h (as its test user) and returns stdout.
func run(t *testing.T, h *testHost, line string) string {
	t.Helper()
	res, err := h.conn.Run(ctxT(t), command.Shell(line), h.opts)
	if err != nil {
		t.Fatalf("%s: %v: %s", line, err, res.Output.Stderr())
	}
	return strings.TrimSpace(res.Output.Stdout())
}

func executeStep(t *testing.T, h *testHost, s operations.Step) (connector.Result, error) {
	t.Helper()
	return operations.Execute(ctxT(t), h.conn, s, h.opts)
}
