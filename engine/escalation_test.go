package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/engine"
)

// sudoFake is a connector kind whose hosts behave like sudo and su that
// need the password "right": without a password sudo -n refuses ("a
// password is required"), a wrong one is refused, and every attempt with
// a password is counted. Real sudo and su are tested end to end in cli
// (sshfleet) and connectors/local; this fake pins down the engine's rules.
type sudoFake struct{}

type sudoFakeConn struct {
	name string

	mu       sync.Mutex
	tries    int // commands given a password
	wrong    int // of those, refused
	suTries  int
	stdinGot []string
}

var sudoFakes sync.Map // name → *sudoFakeConn

func (sudoFake) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	var ts []connector.Target
	for _, n := range strings.Split(arg, "+") {
		ts = append(ts, connector.Target{Name: "@sudofake/" + n, Data: map[string]any{}})
	}
	return ts, nil
}

func (sudoFake) DataKeys() []connector.DataKey { return nil }

func (sudoFake) Open(h *connector.Host) (connector.Conn, error) {
	c := &sudoFakeConn{name: h.Name}
	sudoFakes.Store(h.Name, c)
	return c, nil
}

func init() { connector.Register("sudofake", sudoFake{}) }

func (c *sudoFakeConn) Connect(context.Context) error { return nil }
func (c *sudoFakeConn) Close() error                  { return nil }

// Terminal makes the fake a connector.Terminal, so that the escalation
// layer types su passwords at its prompt.
func (c *sudoFakeConn) Terminal() {}

var markerRE = regexp.MustCompile(`goinfra-escalated-[0-9a-f]+`)

// Run answers as sudo and su would for the command line it is given: the
// escalation layer feeds sudo -S its password on stdin and types su's at
// the terminal prompt; the connector itself never sees a password.
func (c *sudoFakeConn) Run(_ context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if opts.SudoPassword != "" || opts.SuPassword != "" || opts.DoasPassword != "" {
		return connector.Result{ExitCode: -1}, fmt.Errorf("the connector was given a password")
	}
	stderr := func(code int, msg string) (connector.Result, error) {
		return connector.Result{ExitCode: code, Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stderr, Text: msg}}}},
			&connector.CommandError{Host: c.name, ExitCode: code}
	}
	var in *bufio.Reader
	if opts.Stdin != nil {
		in = bufio.NewReader(opts.Stdin)
	}
	switch marker := markerRE.FindString(cmd.Raw()); {
	case marker != "":
		// su on a terminal: prompt, read the answer, announce the shell.
		c.suTries++
		io.WriteString(opts.Stdout, "Password: ")
		pw, _ := in.ReadString('\n')
		if strings.TrimSuffix(pw, "\n") != "right" {
			io.WriteString(opts.Stdout, "\r\nsu: Authentication failure\r\n")
			return connector.Result{ExitCode: 1}, &connector.CommandError{Host: c.name, ExitCode: 1}
		}
		io.WriteString(opts.Stdout, marker+" 4242\nok\n")
		return connector.Result{}, nil
	case opts.SuUser != "":
		return stderr(1, "su: Authentication failure")
	case opts.Sudo && !opts.SudoStdin:
		return stderr(1, "sudo: a password is required")
	case opts.Sudo:
		pw, _ := in.ReadString('\n')
		c.tries++
		if strings.TrimSuffix(pw, "\n") != "right" {
			c.wrong++
			return stderr(1, "sudo: 1 incorrect password attempt")
		}
	}
	if in != nil {
		b, _ := io.ReadAll(in)
		if len(b) > 0 {
			c.stdinGot = append(c.stdinGot, string(b))
		}
	}
	return connector.Result{Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: "ok"}}}}, nil
}

func (c *sudoFakeConn) Put(ctx context.Context, r io.Reader, _ string, opts connector.Options) error {
	_, err := c.Run(ctx, command.Shell("put"), opts)
	return err
}

func (c *sudoFakeConn) Get(ctx context.Context, _ string, _ io.Writer, opts connector.Options) error {
	_, err := c.Run(ctx, command.Shell("get"), opts)
	return err
}

func sudoFakeConnOf(t *testing.T, name string) *sudoFakeConn {
	t.Helper()
	c, ok := sudoFakes.Load(name)
	if !ok {
		t.Fatalf("%s was never opened", name)
	}
	return c.(*sudoFakeConn)
}

// fakeHostNames returns "prefix1+prefix2+...", n names.
func fakeHostNames(prefix string, n int) string {
	var names []string
	for i := range n {
		names = append(names, prefix+string(rune('a'+i)))
	}
	return strings.Join(names, "+")
}

// runAs returns a step running cmd with the given global arguments.
func runAs(args map[string]any, stdin func() io.Reader) engine.StepFunc {
	return func(ctx context.Context, h *engine.Host) (any, error) {
		a, err := h.Args(args)
		if err != nil {
			return nil, err
		}
		o := a.Options
		if stdin != nil {
			o.Stdin = stdin()
		}
		return h.Conn.Run(ctx, command.Shell("id -un"), o)
	}
}

func connected(t *testing.T, ctx context.Context, spec string, cfg engine.Config) *engine.Run {
	t.Helper()
	r := engine.New(load(t, "@sudofake/"+spec, nil), cfg)
	if _, err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// Twenty hosts whose sudo needs a password share one prompt: the first
// that needs it asks, the others wait for the answer; each host checks the
// password once and then runs its command.
func TestSudoPasswordOnePromptForAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var asked []string
	prompt := func(_ context.Context, host string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, host)
		return "right", nil
	}
	r := connected(t, ctx, fakeHostNames("one", 20), engine.Config{SudoPasswordPrompt: prompt})
	for range 2 {
		res, err := r.Each(ctx, runAs(map[string]any{"_sudo": true}, nil))
		if err != nil || len(r.Failed()) > 0 {
			t.Fatalf("%v %v", err, res)
		}
	}
	if len(asked) != 1 || asked[0] != "" {
		t.Errorf("prompts %q, want one for all hosts", asked)
	}
	for _, h := range r.Hosts() {
		// One check of the password, two commands.
		if c := sudoFakeConnOf(t, h.Name); c.tries != 3 || c.wrong != 0 {
			t.Errorf("%s: %d tries (%d wrong), want 3 (the check and two commands)", h.Name, c.tries, c.wrong)
		}
	}
}

func TestSudoPasswordPerHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	asked := map[string]int{}
	prompt := func(_ context.Context, host string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked[host]++
		return "right", nil
	}
	r := connected(t, ctx, fakeHostNames("per", 5), engine.Config{SudoPasswordPrompt: prompt, SudoPasswordPerHost: true})
	if _, err := r.Each(ctx, runAs(map[string]any{"_sudo": true}, nil)); err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Hosts() {
		if asked[h.Name] != 1 {
			t.Errorf("%s asked %d times", h.Name, asked[h.Name])
		}
	}
}

// Without a terminal to ask on, the host fails at once with a message
// saying how to give the password.
func TestSudoPasswordNoTerminal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	noTTY := func(context.Context, string) (string, error) { return "", escalate.ErrNoPrompt }
	for name, cfg := range map[string]engine.Config{"no prompt": {}, "no terminal": {SudoPasswordPrompt: noTTY}} {
		r := connected(t, ctx, "nt"+strings.ReplaceAll(name, " ", ""), cfg)
		res, _ := r.Each(ctx, runAs(map[string]any{"_sudo": true}, nil))
		err := res[0].Err
		if !errors.Is(err, escalate.ErrSudoPassword) || !errors.Is(err, connector.ErrAuth) ||
			!strings.Contains(err.Error(), "GOINFRA_SUDO_PASSWORD") || !strings.Contains(err.Error(), "--sudo-password-prompt") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A wrong password is tried once per host, then the host stops: never a
// loop that could lock the account.
func TestSudoPasswordWrongOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prompts := 0
	prompt := func(context.Context, string) (string, error) { prompts++; return "wrong-secret", nil }
	for name, cfg := range map[string]engine.Config{"given": {Args: map[string]any{"_sudo_password": "wrong-secret"}},
		"asked": {SudoPasswordPrompt: prompt}} {
		r := connected(t, ctx, "wrong"+name, cfg)
		res, _ := r.Each(ctx, runAs(map[string]any{"_sudo": true}, nil))
		err := res[0].Err
		if !errors.Is(err, escalate.ErrSudoPassword) || !strings.Contains(err.Error(), "did not accept the password") ||
			strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("%s: %v", name, err)
		}
		// Later work on the host, as a deploy would try, gets the same
		// error without another try.
		h := r.Hosts()[0]
		a, _ := h.Args(map[string]any{"_sudo": true})
		o := a.Options
		if _, err2 := h.Conn.Run(ctx, command.Shell("true"), o); !errors.Is(err2, escalate.ErrSudoPassword) {
			t.Errorf("%s: a later command: %v", name, err2)
		}
		if err2 := h.Conn.Put(ctx, strings.NewReader("x"), "/x", o); !errors.Is(err2, escalate.ErrSudoPassword) {
			t.Errorf("%s: a later upload: %v", name, err2)
		}
		if c := sudoFakeConnOf(t, h.Name); c.wrong != 1 {
			t.Errorf("%s: %d wrong tries, want 1", name, c.wrong)
		}
	}
	if prompts != 1 {
		t.Errorf("%d prompts", prompts)
	}
}

// Whether sudo wants a password is found out before the command runs, so
// its input reaches it whole, also input that cannot be read twice.
func TestSudoPasswordKeepsStdin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prompt := func(context.Context, string) (string, error) { return "right", nil }
	for name, in := range map[string]func() io.Reader{
		"stdin":     func() io.Reader { return bytes.NewReader([]byte("data")) },
		"stdinpipe": func() io.Reader { return io.MultiReader(strings.NewReader("data")) },
	} {
		r := connected(t, ctx, name, engine.Config{SudoPasswordPrompt: prompt})
		if _, err := r.Each(ctx, runAs(map[string]any{"_sudo": true}, in)); err != nil || len(r.Failed()) > 0 {
			t.Fatalf("%s: %v %v", name, err, r.Failed())
		}
		if c := sudoFakeConnOf(t, r.Hosts()[0].Name); len(c.stdinGot) != 1 || c.stdinGot[0] != "data" {
			t.Errorf("%s: stdin the command got: %q", name, c.stdinGot)
		}
	}
}

// su: a refused password stops escalation on the host (one try); a
// missing one says how to give it.
func TestSuPasswordRefusedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := connected(t, ctx, "suwrong", engine.Config{Args: map[string]any{"_su_password": "bad-secret"}})
	res, _ := r.Each(ctx, runAs(map[string]any{"_su_user": "app"}, nil))
	if err := res[0].Err; !errors.Is(err, connector.ErrAuth) || strings.Contains(err.Error(), "bad-secret") {
		t.Errorf("wrong su password: %v", err)
	}
	h := r.Hosts()[0]
	a, _ := h.Args(map[string]any{"_su_user": "app"})
	o := a.Options
	if _, err := h.Conn.Run(ctx, command.Shell("true"), o); !errors.Is(err, connector.ErrAuth) {
		t.Errorf("a later su command: %v", err)
	}
	if c := sudoFakeConnOf(t, h.Name); c.suTries != 1 {
		t.Errorf("%d su tries, want 1", c.suTries)
	}

	r = connected(t, ctx, "sunone", engine.Config{})
	res, _ = r.Each(ctx, runAs(map[string]any{"_su_user": "app"}, nil))
	if err := res[0].Err; !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "GOINFRA_SU_PASSWORD") {
		t.Errorf("no su password: %v", err)
	}
}
