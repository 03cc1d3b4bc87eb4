package ssh

// Benchmarks against OpenSSH, measured in the same run on the same fleet:
//
//	go test ./connectors/ssh -run '^$' -bench . -benchtime 20x
//
// Each reports the median of its iterations as median-ms (goinfra and
// openssh sub-benchmarks side by side). They are not part of CI.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// fleetFor starts a fleet for one benchmark.
func fleetFor(b *testing.B) *sshfleet.Fleet {
	b.Helper()
	return sshfleet.Start(b, sshfleet.Options{Servers: 1})
}

type timer struct{ d []time.Duration }

func (t *timer) time(f func()) {
	s := time.Now()
	f()
	t.d = append(t.d, time.Since(s))
}

func (t *timer) report(b *testing.B) {
	if len(t.d) == 0 {
		return
	}
	sort.Slice(t.d, func(i, j int) bool { return t.d[i] < t.d[j] })
	b.ReportMetric(float64(t.d[len(t.d)/2].Microseconds())/1000, "median-ms")
}

func benchData(f *sshfleet.Fleet) connector.Data {
	return connector.Data{KeyConfigFile: f.SSHConfigFile, KeyAllowAgent: false}
}

func openssh(b *testing.B, args ...string) {
	out, err := osexec.Command("ssh", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("ssh %q: %v %s", args, err, out)
	}
}

func BenchmarkConnectTrue(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	b.Run("goinfra", func(b *testing.B) {
		var t timer
		for i := 0; i < b.N; i++ {
			t.time(func() {
				c := open(b, s.Name, benchData(f), nil)
				connect(b, c)
				run(b, c, "true", connector.Options{})
				c.Close()
			})
		}
		t.report(b)
	})
	b.Run("openssh", func(b *testing.B) {
		var t timer
		for i := 0; i < b.N; i++ {
			t.time(func() { openssh(b, "-F", f.SSHConfigFile, s.Name, "true") })
		}
		t.report(b)
	})
}

func BenchmarkCommandOnOpenConnection(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	for _, pipelining := range []bool{true, false} {
		name := "goinfra"
		if !pipelining {
			name = "goinfra-sessions"
		}
		b.Run(name, func(b *testing.B) {
			d := benchData(f)
			d[KeyPipelining] = pipelining
			c := open(b, s.Name, d, nil)
			connect(b, c)
			for range 3 {
				run(b, c, "true", connector.Options{})
			}
			time.Sleep(100 * time.Millisecond) // the shell starts in the background
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() { run(b, c, "true", connector.Options{}) })
			}
			t.report(b)
		})
	}
	b.Run("openssh-controlmaster", func(b *testing.B) {
		sock := filepath.Join(b.TempDir(), "cm")
		openssh(b, "-F", f.SSHConfigFile, "-o", "ControlMaster=yes", "-o", "ControlPath="+sock, "-fN", s.Name)
		defer osexec.Command("ssh", "-F", f.SSHConfigFile, "-o", "ControlPath="+sock, "-O", "exit", s.Name).Run()
		var t timer
		for i := 0; i < b.N; i++ {
			t.time(func() { openssh(b, "-F", f.SSHConfigFile, "-o", "ControlPath="+sock, s.Name, "true") })
		}
		t.report(b)
	})
}

// 50 hosts: 50 names for the fleet's server, each its own connection.
func BenchmarkFanout50(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	const n = 50
	b.Run("goinfra", func(b *testing.B) {
		var t timer
		for i := 0; i < b.N; i++ {
			t.time(func() {
				var wg sync.WaitGroup
				for j := 0; j < n; j++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c := open(b, s.Name, benchData(f), nil)
						connect(b, c)
						run(b, c, "true", connector.Options{})
						c.Close()
					}()
				}
				wg.Wait()
			})
		}
		t.report(b)
	})
	b.Run("openssh-xargs-P50", func(b *testing.B) {
		var t timer
		list := strings.Repeat(s.Name+"\n", n)
		for i := 0; i < b.N; i++ {
			t.time(func() {
				cmd := osexec.Command("xargs", "-P", strconv.Itoa(n), "-I{}", "ssh", "-F", f.SSHConfigFile, "{}", "true")
				cmd.Stdin = strings.NewReader(list)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("xargs ssh: %v %s", err, out)
				}
			})
		}
		t.report(b)
	})
}

func bigFile(b *testing.B, size int64) string {
	p := filepath.Join(b.TempDir(), "big")
	fh, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(fh, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	return p
}

func BenchmarkTransfer256MiB(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	const size = 256 << 20
	src := bigFile(b, size)
	ctx := context.Background()
	for _, proto := range []string{"sftp", "scp"} {
		b.Run("goinfra-"+proto+"-upload", func(b *testing.B) {
			d := benchData(f)
			d[KeyFileTransferProtocol] = proto
			c := open(b, s.Name, d, nil)
			connect(b, c)
			b.SetBytes(size)
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() {
					if err := connector.PutFile(ctx, c, src, "/tmp/bench-big", connector.Options{}); err != nil {
						b.Fatal(err)
					}
				})
			}
			t.report(b)
		})
		b.Run("goinfra-"+proto+"-download", func(b *testing.B) {
			d := benchData(f)
			d[KeyFileTransferProtocol] = proto
			c := open(b, s.Name, d, nil)
			connect(b, c)
			b.SetBytes(size)
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() {
					if err := c.Get(ctx, "/tmp/bench-big", io.Discard, connector.Options{}); err != nil {
						b.Fatal(err)
					}
				})
			}
			t.report(b)
		})
	}
	scp := func(b *testing.B, args ...string) {
		out, err := osexec.Command("scp", append([]string{"-q", "-F", f.SSHConfigFile}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("scp: %v %s", err, out)
		}
	}
	for _, mode := range []string{"sftp", "scp"} {
		flag := "-s" // scp over the SFTP protocol (OpenSSH's default since 9.0)
		if mode == "scp" {
			flag = "-O" // the legacy SCP protocol
		}
		b.Run("openssh-"+mode+"-upload", func(b *testing.B) {
			b.SetBytes(size)
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() { scp(b, flag, src, s.Name+":/tmp/bench-big") })
			}
			t.report(b)
		})
		b.Run("openssh-"+mode+"-download", func(b *testing.B) {
			b.SetBytes(size)
			dst := filepath.Join(b.TempDir(), "down")
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() { scp(b, flag, s.Name+":/tmp/bench-big", dst) })
			}
			t.report(b)
		})
	}
}

// Memory of goinfra holding 200 connections (to one sshd, 200 names).
func BenchmarkMemory200Hosts(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		conns := make([]*Conn, 200)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for j := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				conns[j] = open(b, s.Name, benchData(f), nil)
				connect(b, conns[j])
			}()
		}
		wg.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/200/1024, "heap-KiB/host")
		b.ReportMetric(float64(after.Sys)/(1<<20), "sys-MiB")
		for _, c := range conns {
			_, _ = c.Run(context.Background(), command.Shell("true"), connector.Options{})
			c.Close()
		}
	}
}

// BenchmarkSequence: 20 commands on an open connection whose shell is up,
// one Run after the other against one RunSequence (send-ahead), on
// loopback and with 25 ms each way; median ms per 20 commands.
//
//	go test ./connectors/ssh -run '^$' -bench Sequence -benchtime 20x
func BenchmarkSequence(b *testing.B) {
	f := fleetFor(b)
	s := f.Servers[0]
	cmds := make([]connector.Queued, 20)
	for i := range cmds {
		cmds[i] = connector.Queued{Cmd: command.Shell("true"), Group: i}
	}
	for _, lat := range []time.Duration{0, 25 * time.Millisecond} {
		s.SetLatency(lat)
		c := open(b, s.Name, benchData(f), nil)
		connect(b, c)
		c.RunSequence(context.Background(), cmds[:2], func(int, connector.Result, error) {})
		b.Run(fmt.Sprintf("latency=%s/one-by-one", lat), func(b *testing.B) {
			var t timer
			for i := 0; i < b.N; i++ {
				t.time(func() {
					for range cmds {
						run(b, c, "true", connector.Options{})
					}
				})
			}
			t.report(b)
		})
		// sequence-setsid runs each command under setsid as a host
		// without /proc/PID/environ would: what setsid costs.
		for _, mode := range []string{"sequence", "sequence-setsid"} {
			b.Run(fmt.Sprintf("latency=%s/%s", lat, mode), func(b *testing.B) {
				c.mu.Lock()
				m := marksNo
				if mode == "sequence" {
					m = marksYes
				}
				c.shell.marks.Store(m)
				c.mu.Unlock()
				var t timer
				for i := 0; i < b.N; i++ {
					t.time(func() {
						c.RunSequence(context.Background(), cmds, func(i int, _ connector.Result, err error) {
							if err != nil {
								b.Fatalf("command %d: %v", i, err)
							}
						})
					})
				}
				t.report(b)
			})
		}
		s.SetLatency(0)
	}
}
