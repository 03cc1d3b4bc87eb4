package escalate

import (
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

func TestPassword(t *testing.T) {
	for _, c := range []struct {
		opts     connector.Options
		pw, tool string
		why      string
	}{
		{connector.Options{Unix: command.Unix{SuUser: "app"}, SuPassword: "p"}, "p", "su", "su with a password"},
		{connector.Options{Unix: command.Unix{SuUser: "app"}}, "", "", "su without a password"},
		{connector.Options{Unix: command.Unix{Doas: true}, DoasPassword: "d"}, "d", "doas", "doas with a password"},
		{connector.Options{Unix: command.Unix{Doas: true, SuUser: "app"}, DoasPassword: "d", SuPassword: "p"}, "d", "doas", "doas first, su runs as root"},
		{connector.Options{Unix: command.Unix{Sudo: true, SuUser: "app"}, SudoPassword: "s", SuPassword: "p"}, "", "", "behind sudo: sudo -S, su as root"},
	} {
		pw, tool := promptPassword(&c.opts)
		if pw != c.pw || tool != c.tool {
			t.Errorf("%s: got %q %q", c.why, pw, tool)
		}
	}
}

// The wrapped command runs: the marker line first, then the command with
// exactly the announced input.
func TestWrapRuns(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// Without su or doas (the test's user is no one's to switch to), the
	// same wrapping around the command.
	u := command.Unix{Env: map[string]string{"A": "a b"}, Chdir: "/"}
	for _, shell := range []string{"", command.NoShell} {
		u.ShellExecutable = shell
		w := terminalWrap(u, command.Shell("echo $A; pwd; cat # a comment"), "M", 3)
		if !strings.Contains(w.Raw(), "head -c 3") {
			t.Errorf("%s", w.Raw())
		}
		cmd := exec.Command(sh, "-c", w.Raw())
		cmd.Stdin = strings.NewReader("xyzIGNORED")
		out, err := cmd.Output()
		if err != nil || !regexp.MustCompile(`^M [0-9]+\na b\n/\nxyz$`).Match(out) {
			t.Errorf("shell %q: %q %v", shell, out, err)
		}
	}
	if w := terminalWrap(command.Unix{Doas: true, DoasUser: "app"}, command.Shell("id"), "M", 0).Raw(); !strings.HasPrefix(w, "doas -u app sh -c ") {
		t.Errorf("doas: %s", w)
	}
	if w := terminalWrap(command.Unix{SuUser: "app", UseSuLogin: true}, command.Shell("id"), "M", 0).Raw(); !strings.HasPrefix(w, "su -l app -c ") {
		t.Errorf("su: %s", w)
	}
}

// terminal collects what the Answerer types.
type terminal struct{ typed bytes.Buffer }

func (t *terminal) Write(p []byte) (int, error) { return t.typed.Write(p) }

func TestAnswererOnce(t *testing.T) {
	var tty terminal
	var out bytes.Buffer
	a := newAnswerer("s3cret", "MARK", &tty, &out)
	a.Write([]byte("Pass"))
	if tty.typed.Len() != 0 {
		t.Fatal("answered before the prompt was complete")
	}
	a.Write([]byte("word: "))
	if got := tty.typed.String(); got != "s3cret\n" {
		t.Fatalf("typed %q", got)
	}
	if !a.Asked() {
		t.Error("Asked is false after a prompt")
	}
	// Output before the marker is dropped, after it passed on.
	a.Write([]byte("\nMA"))
	a.Write([]byte("RK 123\nhello\n"))
	select {
	case <-a.Authenticated():
	default:
		t.Fatal("not authenticated after the marker")
	}
	if a.PID() != 123 {
		t.Errorf("PID() = %d", a.PID())
	}
	a.Write([]byte("world: \n"))
	if out.String() != "hello\nworld: \n" || tty.typed.String() != "s3cret\n" {
		t.Errorf("out %q, typed %q", out.String(), tty.typed.String())
	}
}

func TestAnswererRefused(t *testing.T) {
	var tty terminal
	a := newAnswerer("s3cret", "MARK", &tty, &bytes.Buffer{})
	a.Write([]byte("Password: "))
	a.Write([]byte("\nsu: Authentication failure s3cret\nPassword: "))
	if got := tty.typed.String(); got != "s3cret\n\x03\x04" {
		t.Errorf("typed %q: a second prompt must be interrupted, never answered", got)
	}
	select {
	case <-a.Authenticated():
		t.Error("authenticated without the marker")
	default:
	}
	if b := a.Before(); strings.Contains(b, "s3cret") || !strings.Contains(b, "su: Authentication failure ***") {
		t.Errorf("Before() = %q", b)
	}
}

func TestReadInput(t *testing.T) {
	if b, err := readInput(nil); b != nil || err != nil {
		t.Errorf("nil: %q %v", b, err)
	}
	if b, err := readInput(strings.NewReader("a\x00b")); string(b) != "a\x00b" || err != nil {
		t.Errorf("%q %v", b, err)
	}
	if _, err := readInput(io.LimitReader(zeros{}, MaxTerminalInput+1)); err == nil {
		t.Error("input over MaxTerminalInput accepted")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
