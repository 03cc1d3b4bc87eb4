package conntest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
)

// A fact read on a host none exists for: the first expectation that
// matches answers, a failing exit code is a CommandError, and what ran
// is recorded with secrets masked.
func ExampleMockConn() {
	ctx := context.Background()
	m := &conntest.MockConn{Host: "web1"}
	m.On(conntest.Exact("uname -s"), conntest.Response{Stdout: "Linux\n"})
	m.On(conntest.Prefix("systemctl is-active "), conntest.Response{Stdout: "inactive\n", ExitCode: 3})
	m.On(conntest.Contains("chpasswd"), conntest.Response{})
	if err := m.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}

	res, _ := m.Run(ctx, command.Shell("uname -s"), connector.Options{})
	fmt.Println(res.Output.Stdout())
	_, err := m.Run(ctx, command.New("systemctl", "is-active", "nginx"), connector.Options{})
	fmt.Println(err)
	m.Run(ctx, command.New("echo", command.Masked("app:s3cret"), "|", "chpasswd"), connector.Options{})
	_, err = m.Run(ctx, command.Shell("reboot"), connector.Options{})
	fmt.Println(err)
	m.Put(ctx, strings.NewReader("hello\n"), "/etc/motd", connector.Options{})

	fmt.Printf("%q\n", m.Commands())
	fmt.Printf("%q\n", m.Uploads())
	// Output:
	// Linux
	// web1: command failed with exit code 3
	// web1: unexpected command: "reboot" matches no expectation (tried: exact "uname -s", prefix "systemctl is-active ", contains "chpasswd")
	// ["uname -s" "systemctl is-active nginx" "echo *** | chpasswd" "reboot"]
	// map["/etc/motd":"hello\n"]
}

func connected(t *testing.T) *conntest.MockConn {
	t.Helper()
	m := &conntest.MockConn{}
	if err := m.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMockMatchers(t *testing.T) {
	for _, c := range []struct {
		m    conntest.Matcher
		cmd  string
		want bool
	}{
		{conntest.Exact("ls /"), "ls /", true},
		{conntest.Exact("ls /"), "ls / ", false},
		{conntest.Prefix("ls "), "ls /tmp", true},
		{conntest.Prefix("ls "), "als /tmp", false},
		{conntest.Contains("dpkg-query"), "if command -v dpkg-query; fi", true},
		{conntest.Contains("dpkg-query"), "rpm -qa", false},
		{conntest.Regexp(`^stat -c .* /etc/(motd|issue)$`), "stat -c %s /etc/issue", true},
		{conntest.Regexp(`^stat -c .* /etc/(motd|issue)$`), "stat -c %s /etc/hosts", false},
	} {
		if got := c.m.Match(c.cmd); got != c.want {
			t.Errorf("%s on %q: %v, want %v", c.m, c.cmd, got, c.want)
		}
	}
}

// The first matching expectation answers; Times hands over to the next
// one once used up.
func TestMockOrderAndTimes(t *testing.T) {
	ctx := context.Background()
	m := connected(t)
	m.On(conntest.Exact("test -e /x && echo yes"), conntest.Response{Stdout: "no\n"}).Times(1)
	m.On(conntest.Prefix("test -e"), conntest.Response{Stdout: "yes\n"})
	m.On(conntest.Prefix("test"), conntest.Response{Stdout: "never\n"})
	var got []string
	for range 3 {
		res, err := m.Run(ctx, command.Shell("test -e /x && echo yes"), connector.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Output.Stdout())
	}
	if want := []string{"no", "yes", "yes"}; !reflect.DeepEqual(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
}

// Output lines: stdout then stderr, a final newline does not make an
// empty line, OnLine and OnCommand see them; SuccessExitCodes apply.
func TestMockOutputAndExitCodes(t *testing.T) {
	ctx := context.Background()
	m := connected(t)
	m.Host = "h1"
	m.On(conntest.Exact("grep x f"), conntest.Response{Stdout: "a\n\nb", Stderr: "warn\n", ExitCode: 1})
	var lines []connector.Line
	var shown string
	opts := connector.Options{OnLine: func(l connector.Line) { lines = append(lines, l) }, OnCommand: func(s string) { shown = s }}
	res, err := m.Run(ctx, command.Shell("grep x f"), opts)
	var ce *connector.CommandError
	if !errors.As(err, &ce) || !errors.Is(err, connector.ErrCommand) || ce.Host != "h1" || ce.ExitCode != 1 || ce.Command != "grep x f" {
		t.Fatalf("exit 1: %#v", err)
	}
	want := []connector.Line{{Stream: connector.Stdout, Text: "a"}, {Stream: connector.Stdout, Text: ""},
		{Stream: connector.Stdout, Text: "b"}, {Stream: connector.Stderr, Text: "warn"}}
	if !reflect.DeepEqual(res.Output.Lines, want) || !reflect.DeepEqual(lines, want) || res.ExitCode != 1 {
		t.Errorf("output %+v, OnLine %+v, exit %d", res.Output.Lines, lines, res.ExitCode)
	}
	if shown != "grep x f" {
		t.Errorf("OnCommand saw %q", shown)
	}
	opts.SuccessExitCodes = []int{0, 1}
	if _, err := m.Run(ctx, command.Shell("grep x f"), opts); err != nil {
		t.Errorf("exit 1 allowed: %v", err)
	}
}

func TestMockResponseErr(t *testing.T) {
	m := connected(t)
	lost := connector.Errorf("h", connector.ErrConnect, "connection lost")
	m.On(conntest.Exact("sleep 1"), conntest.Response{Stdout: "partial\n", ExitCode: -1, Err: lost})
	res, err := m.Run(context.Background(), command.Shell("sleep 1"), connector.Options{})
	if err != lost || res.Output.Stdout() != "partial" || res.ExitCode != -1 {
		t.Errorf("got %v %+v", err, res)
	}
}

// An unexpected command is an error of class ErrUnexpected naming the
// command, recorded like any other; with T set it also fails the test.
func TestMockUnexpected(t *testing.T) {
	m := connected(t)
	m.On(conntest.Prefix("ls"), conntest.Response{})
	_, err := m.Run(context.Background(), command.New("rm", "-rf", command.Masked("/secret")), connector.Options{})
	if !errors.Is(err, conntest.ErrUnexpected) || !strings.Contains(err.Error(), `"rm -rf ***"`) || !strings.Contains(err.Error(), `prefix "ls"`) {
		t.Errorf("unexpected command: %v", err)
	}
	if got := m.Commands(); !reflect.DeepEqual(got, []string{"rm -rf ***"}) {
		t.Errorf("recorded %q", got)
	}

	rec := &recordingTB{TB: t}
	m.T = rec
	m.Run(context.Background(), command.Shell("reboot"), connector.Options{})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], `"reboot" matches no expectation`) {
		t.Errorf("T saw %q", rec.errors)
	}
}

// recordingTB keeps Errorf's messages instead of failing.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// Stdin is read and recorded with the options; the raw command text is
// never recorded.
func TestMockRecordsCalls(t *testing.T) {
	m := connected(t)
	m.On(conntest.Prefix("cat"), conntest.Response{})
	opts := connector.Options{Stdin: strings.NewReader("data"), Unix: command.Unix{Sudo: true}}
	if _, err := m.Run(context.Background(), command.New("cat", ">", command.Quoted("/a b")), opts); err != nil {
		t.Fatal(err)
	}
	calls := m.Calls()
	if len(calls) != 1 || calls[0].Command != "cat > '/a b'" || string(calls[0].Stdin) != "data" || !calls[0].Opts.Sudo {
		t.Errorf("calls %+v", calls)
	}
	opts.Stdin = iotest.ErrReader(errors.New("boom"))
	if _, err := m.Run(context.Background(), command.Shell("cat"), opts); !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("failing stdin: %v", err)
	}
}

func TestMockTransfers(t *testing.T) {
	ctx := context.Background()
	m := connected(t)
	m.SetFile("/etc/hosts", []byte("127.0.0.1 localhost\n"))
	var b strings.Builder
	if err := m.Get(ctx, "/etc/hosts", &b, connector.Options{}); err != nil || b.String() != "127.0.0.1 localhost\n" {
		t.Errorf("Get set file: %q %v", b.String(), err)
	}
	if err := m.Get(ctx, "/missing", io.Discard, connector.Options{}); !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "/missing") {
		t.Errorf("Get missing: %v", err)
	}

	if err := m.Put(ctx, strings.NewReader("v1"), "/etc/app.conf", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	half := io.MultiReader(strings.NewReader("v2 partial"), iotest.ErrReader(errors.New("disk gone")))
	if err := m.Put(ctx, half, "/etc/app.conf", connector.Options{}); !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("failing reader: %v", err)
	}
	if got := m.Uploads(); !reflect.DeepEqual(got, map[string][]byte{"/etc/app.conf": []byte("v1")}) {
		t.Errorf("uploads %q", got)
	}
	b.Reset()
	if err := m.Get(ctx, "/etc/app.conf", &b, connector.Options{}); err != nil || b.String() != "v1" {
		t.Errorf("Get uploaded: %q %v", b.String(), err)
	}
}

// Every call needs Connect (as with a real connector); a cancelled
// context stops it.
func TestMockLifecycle(t *testing.T) {
	ctx := context.Background()
	var m conntest.MockConn
	m.On(conntest.Exact("true"), conntest.Response{})
	if _, err := m.Run(ctx, command.Shell("true"), connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Run before Connect: %v", err)
	}
	if err := m.Put(ctx, strings.NewReader(""), "/x", connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Put before Connect: %v", err)
	}
	if err := m.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(ctx, command.Shell("true"), connector.Options{}); err != nil {
		t.Errorf("Run: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Run(cancelled, command.Shell("true"), connector.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	m.Close()
	if err := m.Get(ctx, "/x", io.Discard, connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, ok := any(&m).(connector.Finisher); ok {
		t.Error("MockConn fakes Finisher")
	}
	if _, ok := any(&m).(connector.Forwarder); ok {
		t.Error("MockConn fakes Forwarder")
	}
}
