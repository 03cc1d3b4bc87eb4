//go:build unix

package deploy_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/ssh"
	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/inventory"
	_ "github.com/goinfra-dev/goinfra/operations/files"
	_ "github.com/goinfra-dev/goinfra/operations/server"
)

// BenchmarkPhases20Ops20Hosts is BenchmarkDeploy20Ops20Hosts's re-run in
// this process, timed by phase (connect, plan, execute, close), with what
// each phase asks of a host: commands (by kind), SFTP lstats and reads,
// uploads; and, with GOINFRA_BENCH_FLEET=processes, the sessions sshd
// started (sshfleet.Fleet.Sessions). It finds where the binary's time
// goes.
//
//	go test -run '^$' -bench Phases20 -benchtime 3x -v ./deploy/
//
// The connections are the ssh connector's without the escalation layer
// (the deploy escalates nothing). With GOINFRA_BENCH_OVERLAP=1 hosts are
// connected and planned as the CLI does it (Deploy.ConnectPlan): each
// planned as soon as it has connected.
func BenchmarkPhases20Ops20Hosts(b *testing.B) {
	o := sshfleet.Options{Servers: 20}
	if os.Getenv("GOINFRA_BENCH_FLEET") == "processes" {
		o.Mode, o.Measure = sshfleet.Processes, true
	}
	f, dir, inv := deploy20(b, o)
	if r := goinfraB(b, dir, inv, "deploy.star", "-y"); r.code != 0 {
		b.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	ctx := context.Background()
	in, err := inventory.Load(ctx, inv, inventory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	d, err := deploy.Load(filepath.Join(dir, "deploy.star"))
	if err != nil {
		b.Fatal(err)
	}
	phases := []string{"connect", "plan", "execute", "close"}
	overlap := os.Getenv("GOINFRA_BENCH_OVERLAP") != ""
	times := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var before map[string]int
		if f.Mode == sshfleet.Processes {
			if before, err = f.Sessions(); err != nil {
				b.Fatal(err)
			}
		}
		run := engine.New(in, engine.Config{})
		var conns []*phaseConn
		for _, h := range run.Hosts() {
			kind, _ := connector.Lookup(h.Kind)
			c, err := kind.(connector.Opener).Open(h.ConnectorHost())
			if err != nil {
				b.Fatal(err)
			}
			pc := &phaseConn{Conn: c, counts: map[string]int{}}
			conns = append(conns, pc)
			h.Conn = pc
		}
		phase := func(name string, do func() error) {
			for _, c := range conns {
				c.setPhase(name)
			}
			start := time.Now()
			if err := do(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			times[name] = append(times[name], time.Since(start))
		}
		var plan *deploy.Plan
		var opTimes []string
		var opStart time.Time
		hooks := deploy.Hooks{
			OpStart: func(int, *deploy.Operation, int) { opStart = time.Now() },
			OpDone: func(i int, op *deploy.Operation) {
				opTimes = append(opTimes, fmt.Sprintf("%d:%d", i, time.Since(opStart).Milliseconds()))
			},
		}
		if overlap {
			// As the CLI runs them: connect's time includes the hosts'
			// planning, plan's what is left of it.
			var planned func() (*deploy.Plan, error)
			phase("connect", func() (err error) { _, planned, err = d.ConnectPlan(ctx, run); return err })
			phase("plan", func() (err error) { plan, err = planned(); return err })
		} else {
			phase("connect", func() error { _, err := run.Connect(ctx); return err })
			phase("plan", func() (err error) { plan, err = d.Plan(ctx, run); return err })
		}
		phase("execute", func() error { return d.Execute(ctx, run, plan, hooks) })
		phase("close", func() error { return run.Close(ctx) })
		b.Logf("run %d: %s; ms per operation: %s", i, phaseLine(times, phases, i), strings.Join(opTimes, " "))
		if i == 0 {
			b.Logf("per host: %s", countLine(conns))
			if f.Mode == sshfleet.Processes {
				b.Logf("sessions per host: %s", sessionLine(b, f, before))
			}
		}
	}
	b.StopTimer()
	for _, p := range phases {
		l := times[p]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		b.ReportMetric(float64(l[len(l)/2].Milliseconds()), p+"-ms")
	}
}

func phaseLine(times map[string][]time.Duration, phases []string, i int) string {
	var l []string
	for _, p := range phases {
		l = append(l, fmt.Sprintf("%s %dms", p, times[p][i].Milliseconds()))
	}
	return strings.Join(l, ", ")
}

// countLine is the mean count per host of each phase's requests.
func countLine(conns []*phaseConn) string {
	total := map[string]int{}
	for _, c := range conns {
		for k, n := range c.counts {
			total[k] += n
		}
	}
	var l []string
	for _, k := range slices.Sorted(maps.Keys(total)) {
		l = append(l, fmt.Sprintf("%s %.1f", k, float64(total[k])/float64(len(conns))))
	}
	return strings.Join(l, ", ")
}

func sessionLine(b *testing.B, f *sshfleet.Fleet, before map[string]int) string {
	// sshd logs a session as it starts it; the last ones of the run are
	// logged by the time its connections are closed, give or take.
	time.Sleep(500 * time.Millisecond)
	after, err := f.Sessions()
	if err != nil {
		b.Fatal(err)
	}
	var l []string
	for k, n := range after {
		l = append(l, fmt.Sprintf("%s %.1f", k, float64(n-before[k])/float64(len(f.Servers))))
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

// phaseConn counts what a connection is asked, by phase.
type phaseConn struct {
	connector.Conn
	mu     sync.Mutex
	phase  string
	counts map[string]int
}

func (c *phaseConn) setPhase(p string) {
	c.mu.Lock()
	c.phase = p
	c.mu.Unlock()
}

func (c *phaseConn) count(what string) {
	c.mu.Lock()
	c.counts[c.phase+" "+what]++
	c.mu.Unlock()
}

func (c *phaseConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	s := cmd.String()
	switch {
	case strings.Contains(s, "sha256sum"):
		c.count("command:checksum")
	case strings.HasPrefix(s, "if stat -c"):
		c.count("command:stat-style")
	case strings.HasPrefix(s, "echo "):
		c.count("command:server.shell")
	default:
		c.count("command:other")
	}
	return c.Conn.Run(ctx, cmd, opts)
}

func (c *phaseConn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	c.count("upload")
	return c.Conn.Put(ctx, r, dst, opts)
}

func (c *phaseConn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	c.count("sftp:read")
	return c.Conn.Get(ctx, src, w, opts)
}

// Unwrap lets connector.As find the connection's other capabilities.
func (c *phaseConn) Unwrap() connector.Conn { return c.Conn }

// ReadSmall counts as the read it replaces.
func (c *phaseConn) ReadSmall(ctx context.Context, p string, size int64) ([]byte, error) {
	c.count("sftp:read")
	r, _ := connector.As[connector.SmallReader](c.Conn)
	return r.ReadSmall(ctx, p, size)
}

func (c *phaseConn) stater() connector.Stater {
	s, _ := connector.As[connector.Stater](c.Conn)
	return s
}

// Lstat, Stat and Readlink make phaseConn a connector.Stater when the
// connection is one (the facts find it with connector.As, which would
// otherwise unwrap past the counting).
func (c *phaseConn) Lstat(ctx context.Context, p string) (*connector.FileStat, error) {
	c.count("sftp:lstat")
	return c.stater().Lstat(ctx, p)
}

func (c *phaseConn) Stat(ctx context.Context, p string) (*connector.FileStat, error) {
	c.count("sftp:stat")
	return c.stater().Stat(ctx, p)
}

func (c *phaseConn) Readlink(ctx context.Context, p string) (string, error) {
	c.count("sftp:readlink")
	return c.stater().Readlink(ctx, p)
}
