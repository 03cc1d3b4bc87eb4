//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// outputSize is what one command prints in BenchmarkOutputMemory.
const outputSize = 100_000_000

// outputShapes are the commands of BenchmarkOutputMemory: 100 MB in lines
// of 100 bytes, and 100 MB on one line without a newline.
var outputShapes = []struct{ name, script string }{
	{"lines", fmt.Sprintf("yes %s | head -c %d", strings.Repeat("x", 99), outputSize)},
	{"oneline", fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", outputSize)},
}

// BenchmarkOutputMemory: peak RSS of the goinfra binary while one @local
// command prints 100 MB, in text mode (streamed, nothing kept) and with
// --json (kept up to the default _max_output, 64 MiB). It also reports the
// bytes goinfra printed (text mode must print all of it).
//
//	go test ./bench -run '^$' -bench OutputMemory -benchtime 3x
func BenchmarkOutputMemory(b *testing.B) {
	bin := goinfraBinary(b)
	for _, mode := range []string{"text", "json"} {
		for _, s := range outputShapes {
			b.Run(mode+"/"+s.name, func(b *testing.B) {
				args := []string{"@local", "exec", "--", s.script}
				if mode == "json" {
					args = append([]string{"--json"}, args...)
				}
				var peak []int64
				var printed int
				var tail []byte
				for range b.N {
					kib, n, t := peakRSS(b, bin, args...)
					peak, printed, tail = append(peak, kib), n, t
				}
				slices.Sort(peak)
				b.ReportMetric(float64(peak[len(peak)/2])/1024, "peak-rss-MiB")
				b.ReportMetric(float64(printed)/1e6, "printed-MB")
				if mode == "text" && printed < outputSize {
					b.Errorf("printed %d bytes, want at least %d", printed, outputSize)
				}
				if mode == "json" {
					b.Logf("end of the record: %q", tail)
				}
			})
		}
	}
}

// peakRSS runs the goinfra binary with args and returns its peak resident
// set size in KiB, the bytes it wrote on stdout and their last 200 bytes.
//
// With GNU time (/usr/bin/time, which forks before it execs goinfra) the
// peak is the kernel's account of goinfra's own high-water mark at exit
// (%M). Without it, VmHWM is read every 10 ms until the process is gone,
// which may miss a rise in its last moments. wait4's maxrss of a child of
// this process would not do: os/exec's vfork carries this process's peak
// over exec.
func peakRSS(b *testing.B, bin string, args ...string) (int64, int, []byte) {
	b.Helper()
	r := peakRSSExit(b, 0, bin, args...)
	return r.kib, r.out.n, r.out.tail
}

// rssRun is what peakRSSExit measured.
type rssRun struct {
	kib int64
	out *countingWriter
}

// peakRSSExit is peakRSS for a run that must exit with status want.
func peakRSSExit(b *testing.B, want int, bin string, args ...string) rssRun {
	b.Helper()
	gnuTime := "/usr/bin/time"
	if _, err := os.Stat(gnuTime); err != nil {
		gnuTime = ""
	}
	var cmd *exec.Cmd
	if gnuTime != "" {
		cmd = exec.Command(gnuTime, append([]string{"-f", "maxrss=%M", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out := &countingWriter{}
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &errOut
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	polled := make(chan int64, 1)
	stop := make(chan struct{})
	go func() {
		var last int64
		for gnuTime == "" {
			if v := vmHWM(cmd.Process.Pid); v > 0 {
				last = v
			}
			select {
			case <-stop:
				polled <- last
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		polled <- last
	}()
	err := cmd.Wait()
	close(stop)
	kib := <-polled
	if code := cmd.ProcessState.ExitCode(); code != want {
		b.Fatalf("goinfra %s: %v (want exit status %d)\n%s", strings.Join(args, " "), err, want, lastBytes(errOut.String(), 2000))
	}
	if gnuTime != "" {
		i := strings.LastIndex(errOut.String(), "maxrss=")
		if i < 0 {
			b.Fatalf("no maxrss from %s: %s", gnuTime, errOut.String())
		}
		v, err := strconv.ParseInt(strings.TrimSpace(errOut.String()[i+len("maxrss="):]), 10, 64)
		if err != nil {
			b.Fatalf("maxrss from %s: %v", gnuTime, err)
		}
		kib = v
	}
	return rssRun{kib: kib, out: out}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// countingWriter counts what it is given and keeps only its end.
type countingWriter struct {
	n, lines int
	tail     []byte
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.lines += bytes.Count(p, []byte("\n"))
	w.tail = append(w.tail, p...)
	if len(w.tail) > 200 {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-200:]...)
	}
	return len(p), nil
}
