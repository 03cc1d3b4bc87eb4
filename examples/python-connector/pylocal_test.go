// Tests of the Python example connector through the protocol, in-process
// (the end-to-end tests through the goinfra binary are in e2e_test.go).
package pylocal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

func program(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		testenv.Skip(t, "python3 is not installed: %v", err)
	}
	p, err := filepath.Abs(external.Prefix + "pylocal")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func connect(t *testing.T, dir string) connector.Conn {
	t.Helper()
	d, err := external.Load(context.Background(), "pylocal", program(t))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := d.Expand(context.Background(), dir)
	if err != nil || len(ts) != 1 || ts[0].Name != "@pylocal/"+dir {
		t.Fatalf("expand: %+v %v", ts, err)
	}
	data := connector.Data(ts[0].Data)
	if err := data.Check(ts[0].Name, d.DataKeys()); err != nil {
		t.Fatal(err)
	}
	c, err := d.(connector.Opener).Open(&connector.Host{Name: ts[0].Name, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	c := connect(t, dir)
	ctx := context.Background()
	res, err := c.Run(ctx, command.Shell(`pwd; echo err >&2; printf 'caf\303\251'`), connector.Options{})
	if err != nil || res.Stdout() != dir+"\ncafé" || res.Stderr() != "err" {
		t.Fatalf("%v %+v", err, res)
	}
	res, err = c.Run(ctx, command.Shell("cat; exit 7"), connector.Options{Stdin: strings.NewReader("fed\n")})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 7 || res.Stdout() != "fed" {
		t.Fatalf("exit 7: %v %+v", err, res)
	}
	res, err = c.Run(ctx, command.Shell(`echo "$X"`), connector.Options{Unix: command.Unix{Env: map[string]string{"X": "a b'c"}}})
	if err != nil || res.Stdout() != "a b'c" {
		t.Fatalf("env: %v %q", err, res.Stdout())
	}
	start := time.Now()
	_, err = c.Run(ctx, command.Shell("sleep 20"), connector.Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, connector.ErrTimeout) || time.Since(start) > 5*time.Second {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
	if res, err := c.Run(ctx, command.Shell("echo still here"), connector.Options{}); err != nil || res.Stdout() != "still here" {
		t.Fatalf("after timeout: %v %+v", err, res)
	}
}

func TestPutGet50MiB(t *testing.T) {
	const size = 50 << 20
	dir, local := t.TempDir(), t.TempDir()
	c := connect(t, dir)
	src := filepath.Join(local, "big.bin")
	f, _ := os.Create(src)
	h := sha256.New()
	io.CopyN(io.MultiWriter(f, h), rand.NewChaCha8([32]byte{9}), size)
	f.Close()
	sum := h.Sum(nil)

	var err error
	peak := peakHeap(func() { err = connector.PutFile(context.Background(), c, src, "big.bin", connector.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if got := sumFile(t, filepath.Join(dir, "big.bin")); !bytes.Equal(got, sum) {
		t.Fatal("uploaded file differs")
	}
	back := filepath.Join(local, "back.bin")
	peak2 := peakHeap(func() { err = connector.GetFile(context.Background(), c, "big.bin", back, connector.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if got := sumFile(t, back); !bytes.Equal(got, sum) {
		t.Fatal("downloaded file differs")
	}
	t.Logf("peak heap in use: put %.1f MiB, get %.1f MiB", float64(peak)/(1<<20), float64(peak2)/(1<<20))
	if max(peak, peak2) > 16<<20 {
		t.Fatalf("heap peaked at %d bytes moving a %d byte file", max(peak, peak2), size)
	}
	// The Python side is bounded too (its peak RSS, read while it runs).
	hwm, ok := programHWM(t, program(t))
	if !ok {
		t.Fatal("the program's process was not found in /proc")
	}
	t.Logf("program peak RSS (VmHWM) after moving 50 MiB both ways: %d KiB", hwm)
	if hwm > 40<<10 {
		t.Fatalf("the program's peak RSS was %d KiB for a %d byte file", hwm, size)
	}
	err = c.Put(context.Background(), strings.NewReader("x"), "no/such/dir/f", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "no/such/dir/f") {
		t.Fatalf("put into a missing dir: %v", err)
	}
	if res, err := c.Run(context.Background(), command.Shell("echo in step"), connector.Options{}); err != nil || res.Stdout() != "in step" {
		t.Fatalf("after a failed put: %v %+v", err, res)
	}
}

func sumFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return h.Sum(nil)
}

// peakHeap samples the heap in use while f runs.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// The public conformance suite against the Python program.
func TestConformance(t *testing.T) {
	d, err := external.Load(context.Background(), "pylocal", program(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conntest.Run(t, func(t *testing.T) connector.Conn {
		data := connector.Data{"pylocal_directory": dir}
		if err := data.Check("@pylocal/"+dir, d.DataKeys()); err != nil {
			t.Fatal(err)
		}
		c, err := d.(connector.Opener).Open(&connector.Host{Name: "@pylocal/" + dir, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, conntest.Options{Host: "@pylocal/" + dir, NoPTY: true})
}

// programHWM finds the running process of the program at path among this
// process's children and returns its VmHWM in KiB.
func programHWM(t *testing.T, path string) (int, bool) {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, pid := range strings.Fields(string(b)) {
			cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			if !slices.Contains(strings.Split(string(cmdline), "\x00"), path) {
				continue
			}
			status, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int
					fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
					return kb, true
				}
			}
		}
	}
	return 0, false
}

// BenchmarkRun is one command through the Python program (compare
// BenchmarkRun in examples/workdir-connector/workdir: the same command
// through a Go program and built in).
func BenchmarkRun(b *testing.B) {
	d, err := external.Load(context.Background(), "pylocal", program(b))
	if err != nil {
		b.Fatal(err)
	}
	data := connector.Data{"pylocal_directory": b.TempDir()}
	c, err := d.(connector.Opener).Open(&connector.Host{Name: "bench", Data: data})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if res, err := c.Run(ctx, command.Shell("echo hello"), connector.Options{}); err != nil || len(res.Lines) != 1 {
			b.Fatalf("%v %+v", err, res)
		}
	}
}
