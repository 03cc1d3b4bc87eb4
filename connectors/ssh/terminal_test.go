//go:build unix

package ssh

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// childEnv carries the host data to TestTerminalChild, which runs in a
// child process whose controlling terminal is a pty the parent types on.
const childEnv = "GOINFRA_SSH_TERMINAL_CHILD"

// TestTerminalChild is not a test of its own: started by onTerminal, it
// connects (twice, as two hosts sharing one key would) and reports.
func TestTerminalChild(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("runs only as the child of a terminal test")
	}
	var d connector.Data
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		h := &connector.Host{Name: fmt.Sprintf("child%d", i), Data: d}
		c, err := Driver{}.Open(h)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = c.Connect(ctx)
		cancel()
		c.Close()
		if err != nil {
			fmt.Printf("\nCHILD-ERROR %v\n", err)
			return
		}
	}
	fmt.Printf("\nCHILD-CONNECTED\n")
}

// terminal is a child test process on a pty, and what it wrote so far.
type terminal struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	out    strings.Builder
	more   chan struct{} // signalled on every read
	done   chan struct{} // closed when the child exited
}

func onTerminal(t *testing.T, d connector.Data) *terminal {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	cmd := osexec.Command(os.Args[0], "-test.run=^TestTerminalChild$", "-test.timeout=5m", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	master, err := pty.Start(cmd) // the pty becomes the child's controlling terminal
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	term := &terminal{t: t, master: master, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(term.done) }()
	t.Cleanup(func() {
		select {
		case <-term.done:
		default:
			_ = cmd.Process.Kill()
			<-term.done
		}
		master.Close()
	})
	return term
}

func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// waitFor waits until the terminal shows want n times in all.
func (tm *terminal) waitFor(want string, n int) {
	tm.t.Helper()
	deadline := time.After(2 * time.Minute)
	for strings.Count(tm.output(), want) < n {
		select {
		case <-tm.more:
		case <-deadline:
			tm.t.Fatalf("the terminal never showed %q (%d times):\n%s", want, n, tm.output())
		}
	}
}

func (tm *terminal) typeLine(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s + "\r")); err != nil {
		tm.t.Fatal(err)
	}
}

// finish waits for the child and returns everything it showed.
func (tm *terminal) finish() string {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(2 * time.Minute):
		tm.t.Fatalf("the child did not finish:\n%s", tm.output())
	}
	// The reader may still hold the last bytes: wait for the result line.
	deadline := time.After(30 * time.Second)
	for !strings.Contains(tm.output(), "CHILD-") {
		select {
		case <-tm.more:
		case <-deadline:
			tm.t.Fatalf("no result from the child:\n%s", tm.output())
		}
	}
	return tm.output()
}

// An encrypted key without ssh_key_password is asked for on the
// terminal, without echo, again after a wrong answer, and once only for
// several connections using the key.
func testPassphrasePromptOnTerminal(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	d := fleetData(t, f, s)
	d[KeyKey] = encryptedCopy(t, f)
	d[KeyLookForKeys] = false
	tm := onTerminal(t, d)
	prompt := "Enter passphrase for key '" + d.String(KeyKey) + "': "
	tm.waitFor(prompt, 1)
	tm.typeLine("wrong-" + passphrase)
	tm.waitFor(prompt, 2)
	tm.typeLine(passphrase)
	out := tm.finish()
	if !strings.Contains(out, "CHILD-CONNECTED") {
		t.Fatalf("the child did not connect:\n%s", out)
	}
	if strings.Contains(out, passphrase) {
		t.Fatalf("the passphrase was echoed:\n%s", out)
	}
	if n := strings.Count(out, prompt); n != 2 {
		t.Fatalf("asked %d times, want 2 (one wrong answer, then remembered for the second connection):\n%s", n, out)
	}
}

// StrictHostKeyChecking ask: an unknown host key is shown on the
// terminal; "yes" connects and records it, "no" refuses.
func testAskOnTerminal(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	question := "Are you sure you want to continue connecting (yes/no)? "
	t.Run("no", func(t *testing.T) {
		d := fleetData(t, f, s)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		d[KeyKnownHostsFile] = kh
		d[KeyStrictHostKeyChecking] = "ask"
		tm := onTerminal(t, d)
		tm.waitFor(question, 1)
		tm.typeLine("no")
		out := tm.finish()
		if !strings.Contains(out, "CHILD-ERROR") || !strings.Contains(out, "not accepted at the prompt") {
			t.Fatalf("answered no:\n%s", out)
		}
		if b, _ := os.ReadFile(kh); len(b) != 0 {
			t.Fatalf("a refused key was recorded: %s", b)
		}
	})
	t.Run("yes", func(t *testing.T) {
		d := fleetData(t, f, s)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		d[KeyKnownHostsFile] = kh
		d[KeyStrictHostKeyChecking] = "ask"
		tm := onTerminal(t, d)
		tm.waitFor(question, 1)
		if !strings.Contains(tm.output(), knownName(s)) || !strings.Contains(tm.output(), "SHA256:") {
			t.Fatalf("the question names no host or fingerprint:\n%s", tm.output())
		}
		tm.typeLine("maybe")
		tm.waitFor("Please type 'yes' or 'no': ", 1)
		tm.typeLine("yes")
		out := tm.finish()
		if !strings.Contains(out, "CHILD-CONNECTED") {
			t.Fatalf("answered yes:\n%s", out)
		}
		// Recorded once: the second connection was not asked.
		if n := strings.Count(out, question); n != 1 {
			t.Fatalf("asked %d times:\n%s", n, out)
		}
		b, err := os.ReadFile(kh)
		if err != nil || strings.Count(string(b), "\n") != 1 || !strings.HasPrefix(string(b), knownName(s)+" ") {
			t.Fatalf("known_hosts after yes: %v %q", err, b)
		}
	})
}

// accept-new from several goinfra processes at once (each with two
// connections): one known_hosts line, no loss, no duplicate (flock).
func testKnownHostsAcrossProcesses(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	d := fleetData(t, f, s)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	d[KeyKnownHostsFile] = kh
	d[KeyStrictHostKeyChecking] = "accept-new"
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := osexec.CommandContext(ctx, os.Args[0], "-test.run=^TestTerminalChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !strings.Contains(string(outs[i]), "CHILD-CONNECTED") {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	b, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], knownName(s)+" ") {
		t.Fatalf("%d processes wrote:\n%s", n, b)
	}
}
