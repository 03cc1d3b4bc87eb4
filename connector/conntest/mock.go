package conntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// ErrUnexpected is the class of the error MockConn.Run returns for a
// command that no expectation matches.
var ErrUnexpected = errors.New("unexpected command")

// MockConn is an in-memory connector.Conn for tests that plan or run
// operations and facts with no host: each command Run is given is answered
// by the first expectation (On) whose matcher accepts the command's masked
// text, as given (opts.Unix is not applied, so _sudo does not change what
// is matched). It records every command and every upload; Get serves what
// was uploaded or set with SetFile.
//
// Only Options.Stdin (read and recorded), SuccessExitCodes, OnCommand and
// OnLine take effect. Optional capabilities (connector.Finisher,
// connector.Forwarder) are not faked. The zero value is ready to use; its
// methods are safe for concurrent use.
type MockConn struct {
	// Host names the host in errors; "mock" when empty.
	Host string
	// T, when set, also fails the test on an unexpected command, so that
	// a caller that tolerates a failing command (a fact that reads a
	// failure as "absent") cannot hide it.
	T testing.TB

	mu        sync.Mutex
	connected bool
	expects   []*Expectation
	calls     []Call
	uploads   map[string][]byte
	files     map[string][]byte
}

var _ connector.Conn = (*MockConn)(nil)

// Matcher decides whether an expectation answers a command (its masked
// text).
type Matcher struct {
	desc  string
	match func(cmd string) bool
}

// Match reports whether m accepts cmd.
func (m Matcher) Match(cmd string) bool { return m.match(cmd) }

// String describes m, for the error about an unexpected command.
func (m Matcher) String() string { return m.desc }

// Exact matches the command text s only.
func Exact(s string) Matcher {
	return Matcher{"exact " + strconv.Quote(s), func(c string) bool { return c == s }}
}

// Prefix matches commands that start with s.
func Prefix(s string) Matcher {
	return Matcher{"prefix " + strconv.Quote(s), func(c string) bool { return strings.HasPrefix(c, s) }}
}

// Contains matches commands that contain s.
func Contains(s string) Matcher {
	return Matcher{"contains " + strconv.Quote(s), func(c string) bool { return strings.Contains(c, s) }}
}

// Regexp matches commands in which expr finds a match. It panics when
// expr does not compile, like regexp.MustCompile: expressions in tests
// are constants.
func Regexp(expr string) Matcher {
	re := regexp.MustCompile(expr)
	return Matcher{"regexp " + strconv.Quote(expr), re.MatchString}
}

// Response is what a matched command produces.
type Response struct {
	// Stdout and Stderr become the output lines (a final newline ends
	// the last line); the stdout lines come first.
	Stdout, Stderr string
	// ExitCode not allowed by Options.SuccessExitCodes (default {0})
	// makes Run return a *connector.CommandError.
	ExitCode int
	// Err, when set, is returned as is (after the output), e.g. a
	// connector.Errorf(host, connector.ErrConnect, ...).
	Err error
}

// Expectation is one answer registered with On.
type Expectation struct {
	match Matcher
	resp  Response
	left  int // commands it still answers; < 0 for any number
}

// Times limits e to answering n more commands; after that, commands go
// to the expectations registered after it (e.g. a fact that changes once
// a step has run). It returns e.
func (e *Expectation) Times(n int) *Expectation {
	e.left = n
	return e
}

// Call is one command Run was given.
type Call struct {
	// Command is the masked text, as given (before opts.Unix wraps it).
	Command string
	// Opts are the options it was run with (Stdin already read).
	Opts connector.Options
	// Stdin is what Opts.Stdin gave, nil when unset.
	Stdin []byte
}

// On registers an answer for the commands match accepts. Expectations are
// tried in the order they were registered; an expectation answers any
// number of commands unless limited with Times.
func (m *MockConn) On(match Matcher, r Response) *Expectation {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &Expectation{match: match, resp: r, left: -1}
	m.expects = append(m.expects, e)
	return e
}

// SetFile gives Get a file at path.
func (m *MockConn) SetFile(path string, content []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.files[path] = bytes.Clone(content)
}

// Commands are the masked texts of the commands Run was given, in order
// (also the unexpected ones).
func (m *MockConn) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.calls))
	for i, c := range m.calls {
		out[i] = c.Command
	}
	return out
}

// Calls are the commands Run was given with their options and stdin.
func (m *MockConn) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

// Uploads maps each destination Put wrote to the last content written.
func (m *MockConn) Uploads() map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.uploads)
}

func (m *MockConn) name() string {
	if m.Host == "" {
		return "mock"
	}
	return m.Host
}

// Connect implements connector.Conn.
func (m *MockConn) Connect(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.connected = true
	return nil
}

// Close implements connector.Conn: later calls fail with ErrNotConnected
// until Connect is called again.
func (m *MockConn) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.connected = false
	return nil
}

// ready is the error for a call on a cancelled context or a closed
// connection.
func (m *MockConn) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", m.name(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.connected {
		return connector.Errorf(m.name(), connector.ErrNotConnected, "mock connection")
	}
	return nil
}

// Run implements connector.Conn.
func (m *MockConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	if err := m.ready(ctx); err != nil {
		return connector.Result{ExitCode: -1}, err
	}
	masked := cmd.Masked()
	if opts.OnCommand != nil {
		opts.OnCommand(masked)
	}
	call := Call{Command: masked, Opts: opts}
	if opts.Stdin != nil {
		b, err := io.ReadAll(opts.Stdin)
		if err != nil {
			return connector.Result{ExitCode: -1}, connector.Errorf(m.name(), connector.ErrTransfer, "reading stdin of %s: %w", masked, err)
		}
		call.Stdin = b
	}

	m.mu.Lock()
	m.calls = append(m.calls, call)
	var found *Expectation
	var tried []string
	for _, e := range m.expects {
		if e.left == 0 {
			continue
		}
		if e.match.Match(masked) {
			found = e
			if e.left > 0 {
				e.left--
			}
			break
		}
		tried = append(tried, e.match.String())
	}
	m.mu.Unlock()

	if found == nil {
		err := connector.Errorf(m.name(), ErrUnexpected, "%q matches no expectation (tried: %s)",
			masked, strings.Join(tried, ", "))
		if m.T != nil {
			m.T.Errorf("%v", err)
		}
		return connector.Result{ExitCode: -1}, err
	}
	r := found.resp
	res := connector.Result{ExitCode: r.ExitCode}
	for _, s := range []struct {
		stream connector.Stream
		text   string
	}{{connector.Stdout, r.Stdout}, {connector.Stderr, r.Stderr}} {
		if s.text == "" {
			continue
		}
		for _, l := range strings.Split(strings.TrimSuffix(s.text, "\n"), "\n") {
			line := connector.Line{Stream: s.stream, Text: l}
			res.Output.Lines = append(res.Output.Lines, line)
			if opts.OnLine != nil {
				opts.OnLine(line)
			}
		}
	}
	if r.Err != nil {
		return res, r.Err
	}
	if !opts.Succeeded(r.ExitCode) {
		return res, &connector.CommandError{Host: m.name(), ExitCode: r.ExitCode, Command: masked}
	}
	return res, nil
}

// Put implements connector.Conn: it reads all of r, then records it as
// the upload to dst and as the file Get serves. A failing reader leaves
// both as they were.
func (m *MockConn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if err := m.ready(ctx); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return connector.Errorf(m.name(), connector.ErrTransfer, "%s: %w", dst, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.uploads == nil {
		m.uploads = map[string][]byte{}
	}
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.uploads[dst] = b
	m.files[dst] = b
	return nil
}

// Get implements connector.Conn: it copies a file set with SetFile or
// uploaded with Put.
func (m *MockConn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if err := m.ready(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	b, ok := m.files[src]
	m.mu.Unlock()
	if !ok {
		return connector.Errorf(m.name(), connector.ErrTransfer, "%s: no such file on the mock", src)
	}
	if _, err := w.Write(b); err != nil {
		return connector.Errorf(m.name(), connector.ErrTransfer, "%s: %w", src, err)
	}
	return nil
}

// Counting wraps a real connection and counts the commands run through
// it, for tests that check how many a fact or operation costs. Unwrap
// lets connector.As find the capabilities of the connection below.
type Counting struct {
	connector.Conn
	n atomic.Int32
}

// NewCounting returns c wrapped in a Counting.
func NewCounting(c connector.Conn) *Counting { return &Counting{Conn: c} }

// Run counts the command and runs it on the wrapped connection.
func (c *Counting) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	c.n.Add(1)
	return c.Conn.Run(ctx, cmd, opts)
}

// Unwrap returns the wrapped connection.
func (c *Counting) Unwrap() connector.Conn { return c.Conn }

// Runs returns how many commands have been run.
func (c *Counting) Runs() int { return int(c.n.Load()) }
