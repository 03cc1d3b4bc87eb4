package files_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/files"
)

// testHost is an operations.Host over a real connection: facts are
// gathered fresh on every call (no cache), so each plan sees the host as
// it is.
type testHost struct {
	name   string
	conn   connector.Conn
	opts   connector.Options
	data   connector.Data
	groups []string
	dir    string
}

func (h *testHost) Name() string         { return h.name }
func (h *testHost) Data() connector.Data { return h.data }
func (h *testHost) Groups() []string     { return h.groups }
func (h *testHost) LocalDir() string     { return h.dir }
func (h *testHost) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	return facts.Get(ctx, h.conn, name, args, h.opts)
}

var (
	_ operations.Host       = (*testHost)(nil)
	_ operations.Grouper    = (*testHost)(nil)
	_ operations.LocalDirer = (*testHost)(nil)
)

// localHost is @local, run as root (the tests change owners).
func localHost(t *testing.T) *testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "the files tests change owners: run them as root")
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		testenv.Skip(t, "sha256sum is missing")
	}
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err := conn.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testHost{name: "@local", conn: conn, data: connector.Data{}, dir: t.TempDir()}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// planOp checks args against the operation and plans it on h.
func planOp(t *testing.T, h *testHost, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p, err := tryPlan(t, h, name, args)
	if err != nil {
		t.Fatalf("plan %s %v: %v", name, args, err)
	}
	return p
}

func tryPlan(t *testing.T, h *testHost, name string, args map[string]any) (*operations.Plan, error) {
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

// apply executes a plan's steps on h.
func apply(t *testing.T, h *testHost, p *operations.Plan) {
	t.Helper()
	for _, s := range p.Steps {
		if _, err := operations.Execute(ctxT(t), h.conn, s, h.opts); err != nil {
			t.Fatalf("%s: %v", s.Describe(), err)
		}
	}
}

// converge plans name (which must change something), applies it, and
// checks that a second plan is empty. It returns the first plan.
func converge(t *testing.T, h *testHost, name string, args map[string]any) *operations.Plan {
	t.Helper()
	p := planOp(t, h, name, args)
	if !p.Changed() {
		t.Fatalf("%s %v: first plan changes nothing", name, args)
	}
	apply(t, h, p)
	if again := planOp(t, h, name, args); again.Changed() {
		t.Fatalf("%s %v: second plan is not empty: %s", name, args, describe(again))
	}
	return p
}

// noChange checks that name plans nothing.
func noChange(t *testing.T, h *testHost, name string, args map[string]any) {
	t.Helper()
	if p := planOp(t, h, name, args); p.Changed() {
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

// steps is the plan's step descriptions with the path prefix dir cut
// out, for comparisons.
func steps(p *operations.Plan, dir string) []string {
	var l []string
	for _, s := range p.Steps {
		l = append(l, strings.ReplaceAll(s.Describe(), dir, "D"))
	}
	return l
}

// stat is "user group mode" of p (not following a link).
func stat(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%U %G %a", p).CombinedOutput()
	if err != nil {
		t.Fatalf("stat %s: %v: %s", p, err, out)
	}
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
