//go:build linux

package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// TestMain removes the binary the benchmarks built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// goinfraBinary builds cmd/goinfra once per benchmark run, as releases are
// built, unless GOINFRA_BENCH_BINARY names a binary to measure instead (an
// earlier build, for before/after figures in one run).
func goinfraBinary(b *testing.B) string {
	if p := os.Getenv("GOINFRA_BENCH_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "goinfra-bench")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "goinfra")
		// Built as scripts/release.sh builds it (static, stripped): the
		// benchmarks measure the binary users get. A default build links
		// libc and maps more of itself (1.7 MB more resident at start).
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binary, "github.com/goinfra-dev/goinfra/cmd/goinfra")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binary
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// timed runs op b.N times and reports the median besides the mean.
func timed(b *testing.B, op func() error) {
	b.Helper()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms/op")
}

// BenchmarkStartupGoinfraExecTrue: a whole goinfra run (start-up,
// inventory, connect, one command, disconnect) against @local.
func BenchmarkStartupGoinfraExecTrue(b *testing.B) {
	bin := goinfraBinary(b)
	timed(b, func() error {
		return exec.Command(bin, "@local", "exec", "--", "true").Run()
	})
}

// BenchmarkStartupShTrue is the floor: the same command with a plain shell.
func BenchmarkStartupShTrue(b *testing.B) {
	timed(b, func() error {
		return exec.Command("sh", "-c", "true").Run()
	})
}

// BenchmarkLocalRunTrue: the per-command cost of the local connector on
// an open connection (wrapping, process start, output capture).
func BenchmarkLocalRunTrue(b *testing.B) {
	d, _ := connector.Lookup(local.Kind)
	c, err := d.(connector.Opener).Open(&connector.Host{Name: local.HostName, Data: connector.Data{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cmd := command.Shell("true")
	timed(b, func() error {
		_, err := c.Run(ctx, cmd, connector.Options{})
		return err
	})
}
