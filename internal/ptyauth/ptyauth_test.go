package ptyauth

import (
	"bytes"
	"io"
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
		pw, tool := Password(c.opts)
		if pw != c.pw || tool != c.tool {
			t.Errorf("%s: got %q %q", c.why, pw, tool)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		u    command.Unix
		want string
	}{
		{command.Unix{SuUser: "app"}, `su app -c 'sh -c '"'"'echo M $$; sh -c '"'"'"'"'"'"'"'"'id -un'"'"'"'"'"'"'"'"''"'"''`},
		{command.Unix{Doas: true, DoasUser: "app"}, `doas -u app sh -c 'echo M $$; sh -c '"'"'id -un'"'"''`},
		{command.Unix{SuUser: "app", ShellExecutable: command.NoShell}, `su app -c 'sh -c '"'"'echo M $$; id -un'"'"''`},
	} {
		if got := Wrap(c.u, command.Shell("id -un"), "M").Raw(); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.u, got, c.want)
		}
	}
}

// terminal collects what the Answerer types.
type terminal struct{ typed bytes.Buffer }

func (t *terminal) Write(p []byte) (int, error) { return t.typed.Write(p) }

func TestAnswererOnce(t *testing.T) {
	var tty terminal
	var out bytes.Buffer
	a := New("s3cret", "MARK", &tty, &out)
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
	a := New("s3cret", "MARK", &tty, &bytes.Buffer{})
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

func TestFeedInput(t *testing.T) {
	for in, want := range map[string]string{"": "\x04", "a\nb\n": "a\nb\n\x04", "a": "a\x04\x04"} {
		var b bytes.Buffer
		var r io.Reader
		if in != "" {
			r = strings.NewReader(in)
		}
		err := FeedInput(&b, r)
		if err != nil || b.String() != want {
			t.Errorf("%q: got %q %v, want %q", in, b.String(), err, want)
		}
	}
}
