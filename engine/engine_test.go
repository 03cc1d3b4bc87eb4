package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
)

// fake is a connector kind beside the real ones (local, ssh, ...): it
// lets the tests decide exactly which host fails where, and observe the
// order of connect, run, finish and close.
type fake struct{}

type fakeConn struct {
	name string
	// events records what happened to this conn, in order.
	mu     sync.Mutex
	events []string
}

var (
	conns   sync.Map // name → *fakeConn
	running atomic.Int32
	peak    atomic.Int32
)

func (fake) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	var ts []connector.Target
	for _, n := range strings.Split(arg, "+") {
		ts = append(ts, connector.Target{Name: "@enginefake/" + n, Data: map[string]any{"fake_mode": n}})
	}
	return ts, nil
}

func (fake) DataKeys() []connector.DataKey {
	return []connector.DataKey{{Name: "fake_mode", Type: connector.String, Description: "how the fake behaves"}}
}

func (fake) Open(h *connector.Host) (connector.Conn, error) {
	if strings.Contains(h.Name, "noopen") {
		return nil, errors.New("cannot open")
	}
	c := &fakeConn{name: h.Name}
	conns.Store(h.Name, c)
	return c, nil
}

func (c *fakeConn) event(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *fakeConn) Events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

func (c *fakeConn) Connect(ctx context.Context) error {
	c.event("connect")
	if strings.Contains(c.name, "noconnect") {
		return connector.Errorf(c.name, connector.ErrConnect, "refused")
	}
	return nil
}

func (c *fakeConn) Close() error {
	c.event("close")
	if strings.Contains(c.name, "panicclose") {
		panic("close exploded")
	}
	return nil
}

func (c *fakeConn) Finish(_ context.Context, runErr error) error {
	c.event(fmt.Sprintf("finish %v", runErr != nil))
	return nil
}

func (c *fakeConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	c.event("run " + cmd.String())
	n := running.Add(1)
	defer running.Add(-1)
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			break
		}
	}
	switch cmd.Raw() {
	case "block":
		<-ctx.Done()
		return connector.Result{ExitCode: -1}, connector.Errorf(c.name, connector.ErrCommand, "stopped: %w", ctx.Err())
	case "sleep":
		time.Sleep(20 * time.Millisecond)
	case "cat":
		in, _ := io.ReadAll(opts.Stdin)
		return connector.Result{Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: string(in)}}}}, nil
	}
	if strings.Contains(c.name, "fail") {
		return connector.Result{ExitCode: 1}, &connector.CommandError{Host: c.name, ExitCode: 1}
	}
	return connector.Result{ExitCode: 0, Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: c.name}}}}, nil
}

func (c *fakeConn) Put(context.Context, io.Reader, string, connector.Options) error { return nil }
func (c *fakeConn) Get(context.Context, string, io.Writer, connector.Options) error { return nil }

func init() { connector.Register("enginefake", fake{}) }

func load(t *testing.T, spec string, data map[string]any) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load(context.Background(), spec, inventory.Options{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func conn(t *testing.T, name string) *fakeConn {
	t.Helper()
	c, ok := conns.Load(name)
	if !ok {
		t.Fatalf("%s was never opened", name)
	}
	return c.(*fakeConn)
}

func runCmd(cmd string) engine.StepFunc {
	return func(ctx context.Context, h *engine.Host) (any, error) {
		return h.Conn.Run(ctx, command.Shell(cmd), connector.Options{})
	}
}

func TestConnectRunDropClose(t *testing.T) {
	ctx := context.Background()
	inv := load(t, "@enginefake/t1ok+t1fail+t1noconnect+t1noopen", nil)
	r := engine.New(inv, engine.Config{})
	res, err := r.Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if len(res) != 4 {
		t.Fatalf("want 4 connect results, got %d", len(res))
	}
	for _, x := range res {
		bad := strings.Contains(x.Host.Name, "noconnect") || strings.Contains(x.Host.Name, "noopen")
		if bad != (x.Err != nil) {
			t.Errorf("%s: connect err = %v", x.Host.Name, x.Err)
		}
		if x.Err != nil && !errors.Is(x.Err, connector.ErrConnect) {
			t.Errorf("%s: connect error %v does not match ErrConnect", x.Host.Name, x.Err)
		}
	}
	if got := hostNames(r.Active()); got != "@enginefake/t1ok,@enginefake/t1fail" {
		t.Fatalf("active after connect: %s", got)
	}

	res, err = r.Each(ctx, runCmd("first"))
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	if len(res) != 2 || res[0].Err != nil || !errors.Is(res[1].Err, connector.ErrCommand) {
		t.Fatalf("first step results: %+v", res)
	}
	if out := res[0].Value.(connector.Result).Stdout(); out != "@enginefake/t1ok" {
		t.Errorf("value of ok host: %q", out)
	}
	if got := hostNames(r.Active()); got != "@enginefake/t1ok" {
		t.Fatalf("active after a failure: %s", got)
	}
	res, _ = r.Each(ctx, runCmd("second"))
	if len(res) != 1 || res[0].Host.Name != "@enginefake/t1ok" {
		t.Fatalf("a failed host took part in a later step: %+v", res)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"@enginefake/t1ok":        "connect,run first,run second,finish false,close",
		"@enginefake/t1fail":      "connect,run first,finish true,close",
		"@enginefake/t1noconnect": "connect,close",
	}
	for name, w := range want {
		if got := strings.Join(conn(t, name).Events(), ","); got != w {
			t.Errorf("%s: events %q, want %q", name, got, w)
		}
	}
	if len(r.Failed()) != 3 {
		t.Errorf("failed hosts: %s", hostNames(r.Failed()))
	}
}

func hostNames(hs []*engine.Host) string {
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	return strings.Join(names, ",")
}

func TestFailPercent(t *testing.T) {
	ctx := context.Background()
	spec := "@enginefake/fp1+fp2+fp3+fp4fail"
	for _, tc := range []struct {
		percent *float64
		want    error
	}{
		{nil, nil},
		{engine.Percent(25), nil},
		{engine.Percent(24), engine.ErrFailPercent},
		{engine.Percent(0), engine.ErrFailPercent},
	} {
		r := engine.New(load(t, spec, nil), engine.Config{FailPercent: tc.percent})
		if _, err := r.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := r.Each(ctx, runCmd("x"))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("fail percent %v: err = %v, want %v", tc.percent, err, tc.want)
		}
		r.Close(ctx)
	}
}

func TestNoHostsLeft(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/nh1fail+nh2fail", nil), engine.Config{})
	r.Connect(ctx)
	if _, err := r.Each(ctx, runCmd("x")); !errors.Is(err, engine.ErrNoHosts) {
		t.Fatalf("want ErrNoHosts, got %v", err)
	}
	if _, err := r.Each(ctx, runCmd("x")); !errors.Is(err, engine.ErrNoHosts) {
		t.Fatalf("a step after all hosts failed: want ErrNoHosts, got %v", err)
	}
	r.Close(ctx)
}

func TestParallelBound(t *testing.T) {
	ctx := context.Background()
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("pb%d", i)
	}
	inv := load(t, "@enginefake/"+strings.Join(names, "+"), nil)
	for _, tc := range []struct {
		cfg  engine.Config
		step engine.Step
		want int32
	}{
		{engine.Config{Parallel: 3}, engine.Step{}, 3},
		{engine.Config{Parallel: 3}, engine.Step{Serial: true}, 1},
		{engine.Config{}, engine.Step{Parallel: 2}, 2},
	} {
		r := engine.New(inv, tc.cfg)
		r.Connect(ctx)
		peak.Store(0)
		tc.step.Do = runCmd("sleep")
		res, err := r.Do(ctx, tc.step)
		if err != nil || len(res) != 12 {
			t.Fatalf("%+v: %d results, err %v", tc, len(res), err)
		}
		if p := peak.Load(); p != tc.want {
			t.Errorf("%+v: %d ran at once, want %d", tc.cfg, p, tc.want)
		}
		r.Close(ctx)
	}
}

func TestRunOnce(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/ro1+ro2", nil), engine.Config{})
	r.Connect(ctx)
	res, err := r.Do(ctx, engine.Step{RunOnce: true, Do: runCmd("x")})
	if err != nil || len(res) != 1 || res[0].Host.Name != "@enginefake/ro1" {
		t.Fatalf("run once: %+v %v", res, err)
	}
	r.Close(ctx)
}

// Cancelling the context (what Ctrl-C does) stops in-flight work, fails
// the hosts with the context's error, and Close still finishes them.
func TestCancelStopsAndCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := engine.New(load(t, "@enginefake/c1+c2", nil), engine.Config{})
	if _, err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err := r.Each(ctx, runCmd("block"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	for _, x := range res {
		if x.Err == nil {
			t.Errorf("%s: no error after cancel", x.Host.Name)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal("second Close:", err)
	}
	for _, n := range []string{"@enginefake/c1", "@enginefake/c2"} {
		if got := strings.Join(conn(t, n).Events(), ","); got != "connect,run block,finish true,close" {
			t.Errorf("%s: %s", n, got)
		}
	}
}

func TestPanicFailsOnlyThatHost(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/p1+p2", nil), engine.Config{})
	r.Connect(ctx)
	res, err := r.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
		if h.Name == "@enginefake/p1" {
			panic("boom")
		}
		return "ok", nil
	})
	if err != nil || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "boom") || res[1].Err != nil {
		t.Fatalf("%+v %v", res, err)
	}
	r.Close(ctx)
}

// Global arguments: the call beats the deploy, which beats host data,
// which beats the run's flags; keys only at their default do not count.
func TestArgsResolution(t *testing.T) {
	inv := load(t, "@enginefake/a1", map[string]any{"_sudo_user": "fromdata"})
	r := engine.New(inv, engine.Config{Args: map[string]any{"_sudo": true, "_sudo_user": "fromflag", "_chdir": "/flag", "_timeout": 3}})
	h := r.Hosts()[0]

	a, err := h.Args()
	if err != nil {
		t.Fatal(err)
	}
	o := a.Options
	if !o.Sudo || o.SudoUser != "fromdata" || o.Chdir != "/flag" || o.Timeout != 3*time.Second {
		t.Errorf("flags and data: %+v", o)
	}
	a, err = h.Args(map[string]any{"_sudo_user": "fromcall"}, map[string]any{"_sudo_user": "fromdeploy", "_chdir": "/deploy"})
	if err != nil {
		t.Fatal(err)
	}
	o = a.Options
	if o.SudoUser != "fromcall" || o.Chdir != "/deploy" {
		t.Errorf("call and deploy: %+v", o)
	}
	if w := o.Wrap(command.New("id")).String(); w != "sudo -H -n -u fromcall sh -c 'cd /deploy && id'" {
		t.Errorf("wrapped: %s", w)
	}
	_, err = h.Args(map[string]any{"_sudo": "yes"})
	var te *connector.DataTypeError
	if !errors.As(err, &te) || te.Key != "_sudo" || te.Host != "@enginefake/a1" {
		t.Errorf("wrong type: %v", err)
	}
	if _, err := h.Args(map[string]any{"_nope": 1}); err == nil || !strings.Contains(err.Error(), "_nope") {
		t.Errorf("unknown global argument: %v", err)
	}
	a, err = h.Args(map[string]any{"_stdin": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(a.Options.Stdin)
	if string(b) != "a\nb\n" {
		t.Errorf("_stdin lines: %q", b)
	}
}

// Host data at its declared default must not hide a flag: --sudo with a
// host whose _sudo is only the default false still uses sudo.
func TestDefaultsDoNotHideFlags(t *testing.T) {
	inv := load(t, "@enginefake/d1", nil)
	if inv.Hosts[0].Source("_sudo") != "default" {
		t.Skipf("inventory reports _sudo from %q", inv.Hosts[0].Source("_sudo"))
	}
	r := engine.New(inv, engine.Config{Args: map[string]any{"_sudo": true, "_shell_executable": "bash"}})
	a, err := r.Hosts()[0].Args()
	if err != nil {
		t.Fatal(err)
	}
	if !a.Options.Sudo || a.Options.ShellExecutable != "bash" {
		t.Errorf("flags hidden by defaults: %+v", a.Options)
	}
}

func TestMemo(t *testing.T) {
	r := engine.New(load(t, "@enginefake/m1", nil), engine.Config{})
	h := r.Hosts()[0]
	var calls atomic.Int32
	fill := func() (any, error) { calls.Add(1); return "v", nil }
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if v, _ := h.Memo("fact:x", fill); v != "v" {
				t.Error("wrong value")
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("filled %d times", calls.Load())
	}
	h.Forget("fact:")
	h.Memo("fact:x", fill)
	if calls.Load() != 2 {
		t.Errorf("Forget did not drop the value")
	}
}

// A run stopped early (too many failures) finishes the hosts that did not
// fail with the reason, so that they keep nothing of an incomplete run.
func TestStoppedRunFinishesWithReason(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/sr1+sr2fail", nil), engine.Config{FailPercent: engine.Percent(10)})
	r.Connect(ctx)
	if _, err := r.Each(ctx, runCmd("x")); !errors.Is(err, engine.ErrFailPercent) {
		t.Fatalf("want ErrFailPercent, got %v", err)
	}
	r.Close(ctx)
	if got := strings.Join(conn(t, "@enginefake/sr1").Events(), ","); got != "connect,run x,finish true,close" {
		t.Errorf("events %s", got)
	}
}

// A connector that panics while disconnecting does not take the others
// down: Close reports it as that host's error.
func TestClosePanic(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/cp1panicclose+cp2", nil), engine.Config{})
	r.Connect(ctx)
	err := r.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "close exploded") {
		t.Errorf("Close: %v", err)
	}
	if got := strings.Join(conn(t, "@enginefake/cp2").Events(), ","); got != "connect,finish false,close" {
		t.Errorf("other host: %s", got)
	}
}

// Host.Run retries a failed command as _retries and _retry_delay say.
func TestRunRetries(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/rt1fail", map[string]any{"_retries": 2, "_retry_delay": 0.01}), engine.Config{})
	r.Connect(ctx)
	defer r.Close(ctx)
	h := r.Hosts()[0]
	args, err := h.Args()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run(ctx, command.Shell("try"), args); !errors.Is(err, connector.ErrCommand) {
		t.Fatalf("want the last failure, got %v", err)
	}
	if got := strings.Join(conn(t, "@enginefake/rt1fail").Events(), ","); got != "connect,run try,run try,run try" {
		t.Errorf("events %s", got)
	}
}

// A command without retries gets the whole of a _stdin given as text,
// also when the same arguments run a second command (as Retry's attempts
// do).
func TestRunStdinTextEachCommand(t *testing.T) {
	ctx := context.Background()
	r := engine.New(load(t, "@enginefake/st1", map[string]any{"_stdin": "a"}), engine.Config{})
	r.Connect(ctx)
	defer r.Close(ctx)
	h := r.Hosts()[0]
	args, err := h.Args()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res, err := h.Run(ctx, command.Shell("cat"), args)
		if err != nil || res.Stdout() != "a\n" {
			t.Errorf("command %d: %q, %v", i+1, res.Stdout(), err)
		}
	}
}

// TestConnectThen: then runs on each connected host; the connect step is
// judged by its connect failures alone, not by hosts then failed.
func TestConnectThen(t *testing.T) {
	ctx := context.Background()
	inv := load(t, "@enginefake/ct1ok+ct1other+ct1noconnect", nil)
	r := engine.New(inv, engine.Config{FailPercent: engine.Percent(50)})
	var mu sync.Mutex
	var ran []string
	res, err := r.ConnectThen(ctx, func(ctx context.Context, h *engine.Host) {
		mu.Lock()
		ran = append(ran, h.Name)
		mu.Unlock()
		h.Fail(errors.New("then failed it"))
	})
	// One of three failed to connect: within 50%, though then failed
	// the other two.
	if err != nil {
		t.Fatalf("ConnectThen: %v", err)
	}
	sort.Strings(ran)
	if strings.Join(ran, ",") != "@enginefake/ct1ok,@enginefake/ct1other" {
		t.Errorf("then ran on %v", ran)
	}
	if len(res) != 3 || res[0].Err != nil || res[1].Err != nil || res[2].Err == nil {
		t.Errorf("results: %+v", res)
	}
	// The next step judges them all.
	if _, err := r.Each(ctx, runCmd("x")); !errors.Is(err, engine.ErrNoHosts) {
		t.Errorf("next step: %v, want ErrNoHosts", err)
	}
	r.Close(ctx)

	r = engine.New(load(t, "@enginefake/ct2ok+ct2noconnect+ct2noconnectb", nil), engine.Config{FailPercent: engine.Percent(50)})
	if _, err := r.ConnectThen(ctx, func(context.Context, *engine.Host) {}); !errors.Is(err, engine.ErrFailPercent) {
		t.Errorf("two of three failed to connect: %v, want ErrFailPercent", err)
	}
	r.Close(ctx)
}
