package ssh

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

func testRunBasics(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	c := open(t, s.Name, fleetData(t, f, s), nil)
	connect(t, c)
	connect(t, c) // idempotent

	var streamed []connector.Line
	var mu sync.Mutex
	res := run(t, c, "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three", connector.Options{OnLine: func(l connector.Line) {
		mu.Lock()
		streamed = append(streamed, l)
		mu.Unlock()
	}})
	want := []connector.Line{{Stream: connector.Stdout, Text: "one"}, {Stream: connector.Stderr, Text: "two"}, {Stream: connector.Stdout, Text: "three"}}
	if len(res.Lines) != 3 || res.Lines[0] != want[0] || res.Lines[2] != want[2] || res.Stderr() != "two" {
		t.Fatalf("lines = %#v", res.Lines)
	}
	if len(streamed) != 3 {
		t.Fatalf("streamed %#v", streamed)
	}

	_, err := c.Run(context.Background(), command.Shell("exit 3"), connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || !errors.Is(err, connector.ErrCommand) {
		t.Fatalf("exit 3: %v", err)
	}
	if res, err := c.Run(context.Background(), command.Shell("exit 3"), connector.Options{SuccessExitCodes: []int{0, 3}}); err != nil || res.ExitCode != 3 {
		t.Fatalf("exit 3 allowed: %v %d", err, res.ExitCode)
	}
	if got := run(t, c, "cat", connector.Options{Stdin: strings.NewReader("in put\n")}).Stdout(); got != "in put" {
		t.Fatalf("stdin: %q", got)
	}
	if got := run(t, c, "tty >/dev/null && echo pty", connector.Options{PTY: true}).Stdout(); got != "pty" {
		t.Fatalf("pty: %q", got)
	}
	env := connector.Options{Unix: command.Unix{Env: map[string]string{"V": `a $b 'c' "d"`}}}
	if got := run(t, c, `printf %s "$V"`, env).Stdout(); got != `a $b 'c' "d"` {
		t.Fatalf("env: %q", got)
	}
	sudo := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: sshfleet.DeployUser}}
	if got := run(t, c, "whoami", sudo).Stdout(); got != sshfleet.DeployUser {
		t.Fatalf("sudo -u deploy: %q", got)
	}

	// Many commands at once on the one connection, each on its own channel.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Run(context.Background(), command.Shell("echo $((6*7))"), connector.Options{})
			if err == nil && res.Stdout() != "42" {
				err = errors.New("got " + res.Stdout())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A _timeout stops the remote command and everything it started, also
// under sudo, and nothing is left running on the target.
func testTimeoutLeavesNoProcess(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	for _, tc := range []struct {
		name string
		user string
		unix command.Unix
	}{
		{"root", "root", command.Unix{}},
		{"sudo", sshfleet.DeployUser, command.Unix{Sudo: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fleetData(t, f, s)
			d[KeyUser] = tc.user
			c := open(t, s.Name, d, nil)
			connect(t, c)
			// Unique sleep lengths find exactly this test's processes.
			n := strconv.Itoa(100000 + rand.IntN(800000))
			start := time.Now()
			// A background child and a foreground one: both must go.
			line := "(sleep 300." + n + "; true) & sleep 301." + n + "; true"
			res, err := escalated(c).Run(context.Background(), command.Shell(line), connector.Options{Unix: tc.unix, Timeout: time.Second})
			var te *connector.TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, connector.ErrTimeout) || res.ExitCode != -1 {
				t.Fatalf("want a timeout, got %v (exit %d)", err, res.ExitCode)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("timeout took %s", time.Since(start))
			}
			if out := onServer(t, s, "ps -eo pid,args | grep -E 'sleep 30[01][.]"+n+"' | grep -v grep || true"); out != "" {
				// Stopping is synchronous: nothing may be left even now.
				t.Fatalf("processes left on the target:\n%s", out)
			}
			// The connection is still usable.
			if got := run(t, c, "echo ok", connector.Options{}).Stdout(); got != "ok" {
				t.Fatalf("after timeout: %q", got)
			}
		})
	}
}
