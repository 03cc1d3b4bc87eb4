// Package optest runs operations against a real connection in the tests of
// the operations modules: a Host whose facts are gathered fresh on every
// call (no cache, so each plan sees the host as it is), and helpers that
// plan, apply and check that a second plan is empty.
package optest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/sshtest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
)

// Timeout bounds every call made through Ctx: long enough for apt in a
// container under load, short enough that a hang fails the test.
const Timeout = 10 * time.Minute

// Host is an operations.Host over Conn. The fields are named Host* where
// the method of operations.Host takes the plain name.
type Host struct {
	HostName   string
	HostData   connector.Data
	HostGroups []string
	// Dir is where relative local paths (src of files.put, templates)
	// are resolved; empty means the working directory.
	Dir  string
	Conn connector.Conn
	// Opts are the run options of every fact, step and Run (e.g. _sudo).
	Opts connector.Options
}

var (
	_ operations.Host       = (*Host)(nil)
	_ operations.Grouper    = (*Host)(nil)
	_ operations.LocalDirer = (*Host)(nil)
)

// Name implements operations.Host.
func (h *Host) Name() string { return h.HostName }

// Data implements operations.Host; nil data reads as empty.
func (h *Host) Data() connector.Data {
	if h.HostData == nil {
		return connector.Data{}
	}
	return h.HostData
}

// Groups implements operations.Grouper.
func (h *Host) Groups() []string { return h.HostGroups }

// LocalDir implements operations.LocalDirer.
func (h *Host) LocalDir() string { return h.Dir }

// Fact implements operations.Host without a cache.
func (h *Host) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	return facts.Get(ctx, h.Conn, name, args, h.Opts)
}

// Ctx is a context cancelled after Timeout or when t ends.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Local is @local, connected, with a fresh Dir. It skips t with why
// unless the test runs as root: the operations tests change owners and
// add users.
func Local(t testing.TB, why string) *Host {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "%s", why)
	}
	conn := escalate.Wrap(local.New(&connector.Host{Name: "@local", Data: connector.Data{}}), escalate.Config{Host: "@local"})
	if err := conn.Connect(Ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Host{HostName: "@local", Conn: conn, Dir: t.TempDir()}
}

// FleetSudo connects to s of f as the passwordless-sudo user, with _sudo.
// Its host data stays empty: the ssh settings are the connection's only.
func FleetSudo(t testing.TB, f *sshfleet.Fleet, s *sshfleet.Server) *Host {
	t.Helper()
	conn, _ := sshtest.Connect(t, f, s, sshfleet.DeployUser)
	return &Host{HostName: s.Name, Conn: conn, Dir: t.TempDir(),
		Opts: connector.Options{Unix: command.Unix{Sudo: true}}}
}

// Plan checks args against the registered operation name and plans it on
// h; an error fails t.
func Plan(t testing.TB, h *Host, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p, err := TryPlan(t, h, name, args)
	if err != nil {
		t.Fatalf("plan %s %v: %v", name, args, err)
	}
	return p
}

// TryPlan is Plan returning the planning error; an unknown operation or
// bad arguments still fail t.
func TryPlan(t testing.TB, h *Host, name string, args map[string]any) (*operations.Plan, error) {
	t.Helper()
	op, ok := operations.Lookup(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return op.Plan(Ctx(t), h, checked)
}

// Execute runs one step on h.
func Execute(t testing.TB, h *Host, s operations.Step) (connector.Result, error) {
	t.Helper()
	return operations.Execute(Ctx(t), h.Conn, s, h.Opts)
}

// Apply executes p's steps on h and returns their joined standard output;
// a failing step fails t with its standard error.
func Apply(t testing.TB, h *Host, p *operations.Plan) string {
	t.Helper()
	var out strings.Builder
	for _, s := range p.Steps {
		res, err := Execute(t, h, s)
		if err != nil {
			t.Fatalf("%s: %v: %s", s.Describe(), err, res.Output.Stderr())
		}
		out.WriteString(res.Output.Stdout())
	}
	return out.String()
}

// Converge plans name (which must change something), applies it, and
// checks that a second plan is empty. It returns the first plan.
func Converge(t testing.TB, h *Host, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p := Plan(t, h, name, args)
	if !p.Changed() {
		t.Fatalf("%s %v: first plan changes nothing", name, args)
	}
	Apply(t, h, p)
	if again := Plan(t, h, name, args); again.Changed() {
		t.Fatalf("%s %v: second plan is not empty: %s", name, args, Describe(again))
	}
	return p
}

// NoChange checks that name plans nothing on h.
func NoChange(t testing.TB, h *Host, name string, args map[string]any) {
	t.Helper()
	if p := Plan(t, h, name, args); p.Changed() {
		t.Fatalf("%s %v: plans %s, want no change", name, args, Describe(p))
	}
}

// Describe is p's step descriptions joined by "; ".
func Describe(p *operations.Plan) string {
	var l []string
	for _, s := range p.Steps {
		l = append(l, s.Describe())
	}
	return strings.Join(l, "; ")
}

// Run runs a shell command on h with h.Opts and returns its trimmed
// standard output; a failure fails t.
func Run(t testing.TB, h *Host, line string) string {
	t.Helper()
	res, err := h.Conn.Run(Ctx(t), command.Shell(line), h.Opts)
	if err != nil {
		t.Fatalf("%s: %v: %s", line, err, res.Output.Stderr())
	}
	return strings.TrimSpace(res.Output.Stdout())
}
