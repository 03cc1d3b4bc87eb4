package escalate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connector/escalate"
)

// sudoHost answers as a host whose sudo wants a password: `sudo -n true`
// (the probe, recognisable by its options) is refused, everything else
// succeeds.
func sudoHost(t *testing.T) *conntest.MockConn {
	m := &conntest.MockConn{Host: "h"}
	m.On(conntest.Exact("true"), conntest.Response{Stderr: "sudo: a password is required", ExitCode: 1}).Times(1)
	m.On(conntest.Regexp(".*"), conntest.Response{Stdout: "ok"})
	if err := m.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// The probe runs once per sudo user, the password is checked once, and
// every command then gets it on its standard input (sudo -S), ahead of the
// command's own input; the connector never sees a password field.
func TestSudoPasswordOnStdin(t *testing.T) {
	ctx := context.Background()
	m := sudoHost(t)
	c := escalate.Wrap(m, escalate.Config{Host: "h"})
	opts := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "s3cret"}
	for i := range 3 {
		o := opts
		if i == 2 {
			o.Stdin = strings.NewReader("data\n")
		}
		if _, err := c.Run(ctx, command.Shell("id -un"), o); err != nil {
			t.Fatal(err)
		}
	}
	calls := m.Calls()
	if len(calls) != 5 {
		t.Fatalf("%d commands, want the probe, the check and 3 commands: %q", len(calls), m.Commands())
	}
	for i, call := range calls {
		if call.Opts.SudoPassword != "" || call.Opts.SuPassword != "" || call.Opts.DoasPassword != "" {
			t.Errorf("command %d reached the connector with a password", i)
		}
	}
	if calls[0].Opts.SudoStdin || calls[0].Stdin != nil {
		t.Errorf("the probe is sudo -n with no input: %+v", calls[0])
	}
	if !calls[1].Opts.SudoStdin || string(calls[1].Stdin) != "s3cret\n" {
		t.Errorf("the check gets the password and nothing else: %q", calls[1].Stdin)
	}
	for _, call := range calls[2:4] {
		if !call.Opts.SudoStdin || string(call.Stdin) != "s3cret\n" || call.Command != "id -un" {
			t.Errorf("command: %+v stdin %q", call.Opts.Unix, call.Stdin)
		}
	}
	if string(calls[4].Stdin) != "s3cret\ndata\n" {
		t.Errorf("stdin after the password: %q", calls[4].Stdin)
	}
}

// A sudo that needs no password is not fed one (the command would read
// it), and is probed once.
func TestSudoWithoutPassword(t *testing.T) {
	ctx := context.Background()
	m := &conntest.MockConn{Host: "h"}
	m.On(conntest.Regexp(".*"), conntest.Response{Stdout: "ok"})
	m.Connect(ctx)
	c := escalate.Wrap(m, escalate.Config{Host: "h"})
	for range 3 {
		if _, err := c.Run(ctx, command.Shell("id"), connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "pw"}); err != nil {
			t.Fatal(err)
		}
	}
	calls := m.Calls()
	if len(calls) != 4 {
		t.Fatalf("commands %q, want one probe and 3", m.Commands())
	}
	for _, call := range calls {
		if call.Opts.SudoStdin || call.Stdin != nil {
			t.Errorf("fed a password to a sudo that wants none: %+v", call)
		}
	}
}

// A refused password is tried once; then escalation stops on the host and
// OnBlocked hears of it once.
func TestWrongPasswordBlocks(t *testing.T) {
	ctx := context.Background()
	m := &conntest.MockConn{Host: "h"}
	m.On(conntest.Exact("true"), conntest.Response{Stderr: "sudo: a password is required", ExitCode: 1}).Times(1)
	m.On(conntest.Exact("true"), conntest.Response{Stderr: "sudo: 1 incorrect password attempt", ExitCode: 1})
	m.On(conntest.Regexp(".*"), conntest.Response{})
	m.Connect(ctx)
	var blocked []error
	c := escalate.Wrap(m, escalate.Config{Host: "h", OnBlocked: func(err error) { blocked = append(blocked, err) }})
	opts := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "wrong-pw"}
	_, err := c.Run(ctx, command.Shell("id"), opts)
	if !errors.Is(err, escalate.ErrSudoPassword) || !errors.Is(err, connector.ErrAuth) || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := c.Run(ctx, command.Shell("id"), opts); !errors.Is(err, escalate.ErrSudoPassword) {
		t.Errorf("a later command: %v", err)
	}
	if err := c.Put(ctx, strings.NewReader("x"), "/etc/x", opts); !errors.Is(err, escalate.ErrSudoPassword) {
		t.Errorf("a later upload: %v", err)
	}
	if len(m.Calls()) != 2 || len(blocked) != 1 {
		t.Errorf("commands %q, blocked %d times", m.Commands(), len(blocked))
	}
	// Commands without escalation still run.
	if _, err := c.Run(ctx, command.Shell("uptime"), connector.Options{}); err != nil {
		t.Errorf("plain command: %v", err)
	}
}

// An escalated upload is staged as the login user in a directory of its
// own, installed by one escalated command, and the staging directory is
// removed, also when the install fails.
func TestEscalatedPutStages(t *testing.T) {
	ctx := context.Background()
	for _, fail := range []bool{false, true} {
		m := &conntest.MockConn{Host: "h"}
		m.On(conntest.Contains("mktemp -d"), conntest.Response{Stdout: "/tmp/.goinfra-abc\n"})
		if fail {
			m.On(conntest.Contains("goinfra-put"), conntest.Response{Stderr: "mv: read-only file system", ExitCode: 1})
		}
		m.On(conntest.Regexp(".*"), conntest.Response{})
		m.Connect(ctx)
		c := escalate.Wrap(m, escalate.Config{Host: "h"})
		err := c.Put(ctx, strings.NewReader("content"), "/etc/app.conf", connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "app"}})
		if fail != (err != nil) {
			t.Fatalf("fail=%v: %v", fail, err)
		}
		if fail && (!errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "read-only file system") || !strings.Contains(err.Error(), "/etc/app.conf")) {
			t.Errorf("install failure: %v", err)
		}
		var staged string
		for dst, b := range m.Uploads() {
			staged = dst
			if !strings.HasPrefix(dst, "/tmp/.goinfra-abc/") || string(b) != "content" {
				t.Errorf("staged %s: %q", dst, b)
			}
		}
		cmds := m.Commands()
		calls := m.Calls()
		var install, removed bool
		for i, cmd := range cmds {
			switch {
			case strings.Contains(cmd, "goinfra-put"):
				install = true
				o := calls[i].Opts
				if !o.Sudo || o.SudoUser != "app" || !strings.Contains(cmd, staged) || !strings.Contains(cmd, "/etc/app.conf") {
					t.Errorf("install %q as %+v", cmd, o.Unix)
				}
			case strings.HasPrefix(cmd, "rm -rf -- /tmp/.goinfra-abc"):
				removed = true
				if calls[i].Opts.Escalates() {
					t.Error("the staging directory is the login user's")
				}
			case strings.Contains(cmd, "mktemp"), strings.HasPrefix(cmd, "chmod 0644"), cmd == "true":
				if calls[i].Opts.Escalates() && cmd != "true" {
					t.Errorf("%q escalated", cmd)
				}
			}
		}
		if !install || !removed {
			t.Errorf("fail=%v: commands %q", fail, cmds)
		}
	}
}

// native is a connector that switches users itself.
type native struct{ *conntest.MockConn }

func (native) SwitchesUser() {}

// A UserSwitcher gets the options as given: the layer neither wraps,
// probes nor stages.
func TestUserSwitcherPassesThrough(t *testing.T) {
	ctx := context.Background()
	m := &conntest.MockConn{Host: "h"}
	m.On(conntest.Regexp(".*"), conntest.Response{})
	m.Connect(ctx)
	c := escalate.Wrap(native{m}, escalate.Config{Host: "h"})
	opts := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "pw"}
	if _, err := c.Run(ctx, command.Shell("id"), opts); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, strings.NewReader("x"), "/etc/x", opts); err != nil {
		t.Fatal(err)
	}
	if len(m.Calls()) != 1 || m.Calls()[0].Opts.SudoPassword != "pw" || len(m.Uploads()) != 1 {
		t.Errorf("commands %q uploads %d", m.Commands(), len(m.Uploads()))
	}
	if _, ok := connector.As[connector.UserSwitcher](c); !ok {
		t.Error("connector.As does not find the capability behind the layer")
	}
}

// Without a password given, the first sudo command is its own probe: no
// extra command where sudo wants no password; where it wants one, the
// password is asked once, checked, and the command run again with its
// input from the start.
func TestSudoCommandIsItsOwnProbe(t *testing.T) {
	ctx := context.Background()
	m := &conntest.MockConn{Host: "h"}
	m.On(conntest.Regexp(".*"), conntest.Response{Stdout: "ok"})
	m.Connect(ctx)
	c := escalate.Wrap(m, escalate.Config{Host: "h"})
	for range 2 {
		if _, err := c.Run(ctx, command.Shell("id"), connector.Options{Unix: command.Unix{Sudo: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Commands(); len(got) != 2 {
		t.Errorf("passwordless sudo: %q, want the two commands only", got)
	}

	m = &conntest.MockConn{Host: "h"}
	m.On(conntest.Exact("cat"), conntest.Response{Stderr: "sudo: a password is required", ExitCode: 1}).Times(1)
	m.On(conntest.Regexp(".*"), conntest.Response{Stdout: "ok"})
	m.Connect(ctx)
	asked := 0
	asker := escalate.NewAsker(func(context.Context, string) (string, error) { asked++; return "pw", nil }, false)
	c = escalate.Wrap(m, escalate.Config{Host: "h", Passwords: asker})
	if _, err := c.Run(ctx, command.Shell("cat"), connector.Options{Unix: command.Unix{Sudo: true}, Stdin: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	calls := m.Calls()
	if asked != 1 || len(calls) != 3 || string(calls[2].Stdin) != "pw\ndata" || string(calls[0].Stdin) != "data" {
		t.Errorf("asked %d, commands %q, last stdin %q", asked, m.Commands(), calls[len(calls)-1].Stdin)
	}
}
