package sshfleet_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// startAndUse starts n servers in mode and runs `true` on every one of them
// at once through its proxy.
func startAndUse(tb testing.TB, mode sshfleet.Mode, n int) time.Duration {
	start := time.Now()
	f := sshfleet.Start(tb, sshfleet.Options{Servers: n, Mode: mode})
	took := time.Since(start)
	if len(f.Servers) != n {
		tb.Fatalf("%d servers, want %d", len(f.Servers), n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, s := range f.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialErr(f, s, "root", keyAuth(tb, f))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				errs <- err
				return
			}
			defer sess.Close()
			if out, err := sess.CombinedOutput("hostname"); err != nil {
				errs <- fmt.Errorf("%s: %v: %s", s.Name, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Error(err)
	}
	return took
}

// TestScale starts the 20-server fleet the benchmark suite uses.
func TestScale(t *testing.T) {
	requireOpenSSHClient(t)
	took := startAndUse(t, sshfleet.Auto, 20)
	t.Logf("20 servers started in %v", took)
}

// BenchmarkStart measures fleet start time (the image already built).
func BenchmarkStart(b *testing.B) {
	for _, mode := range []sshfleet.Mode{sshfleet.Processes, sshfleet.Containers} {
		for _, n := range []int{1, 20} {
			b.Run(fmt.Sprintf("%v/%d", mode, n), func(b *testing.B) {
				for range b.N {
					startAndUse(b, mode, n)
				}
			})
		}
	}
}
