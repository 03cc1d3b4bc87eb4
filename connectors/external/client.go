package external

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// Default limits. GOINFRA_CONNECTOR_TIMEOUT (a Go duration or seconds)
// overrides Timeout and HandshakeTimeout.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultKillGrace        = 2 * time.Second
)

// Program is a connector kind implemented by an external program. It is a
// connector.Driver; when the program declares that it executes, Load
// returns an *ExecProgram, which is also a connector.Opener.
type Program struct {
	// Kind is the name the program is registered under.
	Kind string
	// Path is the program's file.
	Path string
	// Timeout bounds every wait for a reply other than a command's end.
	Timeout time.Duration
	// HandshakeTimeout bounds the hello exchange.
	HandshakeTimeout time.Duration
	// KillGrace is how long a program may take to stop a command after
	// cancel, or to exit after disconnect, before it is killed.
	KillGrace time.Duration
	// Log receives the program's stderr and log messages when no host is
	// involved (expand); a host's own logger is used for its connection.
	Log *slog.Logger

	description  string
	keys         []connector.DataKey
	capabilities []string
}

// ExecProgram is a Program that runs commands and moves files.
type ExecProgram struct{ *Program }

// Load starts the program at path once for the handshake and returns the
// kind it implements (a *Program or an *ExecProgram). ctx bounds the start.
func Load(ctx context.Context, kind, path string) (connector.Driver, error) {
	p := &Program{
		Kind: kind, Path: path,
		Timeout:          envDuration("GOINFRA_CONNECTOR_TIMEOUT", DefaultTimeout),
		HandshakeTimeout: envDuration("GOINFRA_CONNECTOR_TIMEOUT", DefaultHandshakeTimeout),
		KillGrace:        DefaultKillGrace,
	}
	pr, hello, err := p.start(ctx, p.logger())
	if err != nil {
		return nil, err
	}
	pr.close(shortGrace(p.KillGrace))
	if err := p.setHello(hello); err != nil {
		return nil, err
	}
	if hello.Executes {
		return &ExecProgram{p}, nil
	}
	return p, nil
}

func (p *Program) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p *Program) setHello(m *Message) error {
	p.description = m.Description
	p.capabilities = m.Capabilities
	p.keys = nil
	for _, s := range m.DataKeys {
		k, err := specToKey(s)
		if err != nil {
			return &ProtocolError{Program: baseName(p.Path), Reason: "hello: " + err.Error()}
		}
		p.keys = append(p.keys, k)
	}
	return nil
}

// start runs the program and does the handshake.
func (p *Program) start(ctx context.Context, log *slog.Logger) (*proc, *Message, error) {
	pr, err := startProc(p.Path, log.With("kind", p.Kind))
	if err != nil {
		return nil, nil, err
	}
	hello, err := pr.handshake(ctx, p.HandshakeTimeout)
	if err != nil {
		pr.kill("handshake failed")
		pr.close(p.KillGrace)
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	return pr, hello, nil
}

// shortGrace bounds the wait for a handshake or expand process to exit on
// EOF: nothing is left for it to clean up, and the CLI waits for it.
func shortGrace(g time.Duration) time.Duration { return min(g, 500*time.Millisecond) }

// DataKeys returns the keys the program declared.
func (p *Program) DataKeys() []connector.DataKey { return p.keys }

// Description is the program's own description and where it lives.
func (p *Program) Description() string {
	if p.description == "" {
		return "external: " + p.Path
	}
	return p.description + " (external: " + p.Path + ")"
}

// Expand runs the program for one expand request.
func (p *Program) Expand(ctx context.Context, arg string) ([]connector.Target, error) {
	pr, _, err := p.start(ctx, p.logger())
	if err != nil {
		return nil, fmt.Errorf("@%s: %w", p.Kind, err)
	}
	defer pr.close(shortGrace(p.KillGrace))
	if err := pr.send(&Message{Type: TypeExpand, Arg: arg}); err != nil {
		return nil, fmt.Errorf("@%s: %w", p.Kind, err)
	}
	m, err := pr.recv(ctx, p.Timeout)
	if err != nil {
		return nil, fmt.Errorf("@%s: expand: %w", p.Kind, err)
	}
	switch m.Type {
	case TypeTargets:
		out := make([]connector.Target, 0, len(m.Targets))
		for _, t := range m.Targets {
			if t.Name == "" {
				return nil, &ProtocolError{Program: pr.prog, Reason: "expand: a target without a name"}
			}
			out = append(out, connector.Target{Name: t.Name, Data: t.Data, Groups: t.Groups})
		}
		return out, nil
	case TypeError:
		return nil, fmt.Errorf("@%s: %s", p.Kind, m.Message)
	}
	pr.kill("it broke the protocol")
	return nil, &ProtocolError{Program: pr.prog, Reason: fmt.Sprintf("expand: unexpected %q reply", m.Type)}
}

// Open returns an unconnected Conn; Connect starts the program.
func (e *ExecProgram) Open(h *connector.Host) (connector.Conn, error) {
	return &Conn{p: e.Program, host: h}, nil
}

// Conn is a connection to one host through its own program process.
// SwitchesUser implements connector.UserSwitcher: a program gets the
// escalation options (and secrets) with each request and honours them its
// own way (docs/protocol.md), so the escalation layer passes them through.
func (c *Conn) SwitchesUser() {}

type Conn struct {
	p    *Program
	host *connector.Host

	mu sync.Mutex
	pr *proc
}

func (c *Conn) errorf(class error, format string, args ...any) error {
	return connector.Errorf(c.host.Name, class, format, args...)
}

// replyError turns an error message into an error of its class, or of
// class def when the program gave none.
func (c *Conn) replyError(m *Message, def error) error {
	class := classError(m.Class)
	if class == nil {
		class = def
	}
	return c.errorf(class, "%s", m.Message)
}

func (c *Conn) unexpected(op string, m *Message) error {
	c.pr.kill("it broke the protocol")
	return &ProtocolError{Program: c.pr.prog, Reason: fmt.Sprintf("%s: unexpected %q message", op, m.Type)}
}

// Connect starts the program and asks it to connect. A second call on a
// live connection does nothing.
func (c *Conn) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pr != nil && c.pr.alive() {
		return nil
	}
	pr, _, err := c.p.start(ctx, c.host.Logger())
	if err != nil {
		return c.errorf(connector.ErrConnect, "%w", err)
	}
	c.pr = pr
	data := map[string]any{}
	for _, k := range c.p.keys {
		if v, ok := c.host.Data[k.Name]; ok && v != nil {
			data[k.Name] = wireValue(v)
		}
	}
	err = pr.send(&Message{Type: TypeConnect, Host: &HostSpec{Name: c.host.Name, Groups: c.host.Groups, Data: data}})
	if err == nil {
		var m *Message
		if m, err = pr.recv(ctx, c.p.Timeout); err == nil {
			switch m.Type {
			case TypeOK:
				return nil
			case TypeError:
				err = c.replyError(m, connector.ErrConnect)
			default:
				err = c.unexpected("connect", m)
			}
		}
	}
	pr.kill("connect failed")
	pr.close(c.p.KillGrace)
	c.pr = nil
	var ce *connector.Error
	if errors.As(err, &ce) {
		return err
	}
	return c.errorf(connector.ErrConnect, "%w", err)
}

func (c *Conn) live() (*proc, error) {
	if c.pr == nil {
		return nil, c.errorf(connector.ErrNotConnected, "connect first")
	}
	if !c.pr.alive() {
		return nil, c.errorf(connector.ErrConnect, "%w", c.pr.deathError(nil))
	}
	return c.pr, nil
}

// Run sends the command (wrapped as opts say) and collects its output
// lines as the program streams them. At opts.Timeout goinfra sends cancel;
// a program that has not reported the end KillGrace later is killed.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	rec := connector.NewRecorderFor(opts, c.host.Logger())
	res, err := c.run(ctx, cmd, opts, rec)
	res.Output, res.Duration = rec.Output(), time.Since(start)
	return res, err
}

func (c *Conn) run(ctx context.Context, cmd command.Command, opts connector.Options, rec *connector.Recorder) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	pr, err := c.live()
	if err != nil {
		return res, err
	}
	wrapped := opts.Unix.Wrap(cmd)
	if opts.OnCommand != nil {
		opts.OnCommand(wrapped.String())
	}
	err = pr.send(&Message{
		Type: TypeRun, Command: wrapped.Raw(), Unwrapped: cmd.Raw(), Masked: wrapped.String(),
		Options: optionsToSpec(opts), Stdin: opts.Stdin != nil,
	})
	if err != nil {
		return res, c.errorf(connector.ErrCommand, "%w", err)
	}
	if opts.Stdin != nil {
		ended, fed := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(fed)
			c.feedStdin(pr, opts.Stdin, ended)
		}()
		// The next request must not start while stdin data is still being
		// sent: the program would take it for that request's data. A
		// source that blocks past the grace costs the connection instead.
		defer func() {
			close(ended)
			select {
			case <-fed:
			case <-time.After(c.p.KillGrace):
				pr.kill("the command's stdin source blocked after the command ended")
			}
		}()
	}

	var deadline, grace <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	done := ctx.Done()
	var stopErr error
	stop := func(why error) {
		stopErr = why
		deadline, done = nil, nil
		pr.send(&Message{Type: TypeCancel})
		t := time.NewTimer(c.p.KillGrace)
		grace = t.C
	}
	for {
		select {
		case m, ok := <-pr.in:
			if !ok {
				if stopErr != nil {
					return res, stopErr
				}
				return res, c.errorf(connector.ErrCommand, "lost during the command: %w", pr.deathError(nil))
			}
			switch m.Type {
			case TypeLine:
				l := connector.Line{Stream: connector.Stdout, Continued: m.Continued, Text: m.Text}
				if m.Stream == "stderr" {
					l.Stream = connector.Stderr
				}
				rec.Add(l)
			case TypeExit:
				if m.Code != nil {
					res.ExitCode = *m.Code
				}
				switch {
				case stopErr != nil:
					return res, stopErr
				case m.TimedOut:
					return res, &connector.TimeoutError{Host: c.host.Name, Limit: opts.Timeout}
				case m.Code == nil:
					return res, c.errorf(connector.ErrCommand, "the command ended without an exit code")
				case !opts.Succeeded(res.ExitCode):
					return res, &connector.CommandError{Host: c.host.Name, ExitCode: res.ExitCode, Command: wrapped.String()}
				}
				return res, nil
			case TypeError:
				if stopErr != nil {
					return res, stopErr
				}
				return res, c.replyError(m, connector.ErrCommand)
			default:
				return res, c.unexpected("run", m)
			}
		case <-deadline:
			stop(&connector.TimeoutError{Host: c.host.Name, Limit: opts.Timeout})
		case <-done:
			stop(c.errorf(connector.ErrTimeout, "command canceled: %w", ctx.Err()))
		case <-grace:
			pr.kill(fmt.Sprintf("it did not stop the command within %s of cancel", c.p.KillGrace))
			return res, stopErr
		}
	}
}

// feedStdin streams r to the program as data messages and an end, and
// stops early once the command has ended.
func (c *Conn) feedStdin(pr *proc, r io.Reader, ended <-chan struct{}) {
	buf := make([]byte, ChunkSize)
	for {
		select {
		case <-ended:
			pr.send(&Message{Type: TypeEnd, Abort: "the command ended"})
			return
		default:
		}
		n, err := r.Read(buf)
		if n > 0 {
			if pr.send(&Message{Type: TypeData, Data: buf[:n]}) != nil {
				return
			}
		}
		if err == io.EOF {
			pr.send(&Message{Type: TypeEnd})
			return
		}
		if err != nil {
			pr.send(&Message{Type: TypeEnd, Abort: "reading stdin failed"})
			return
		}
	}
}

// watchdog kills the program when no progress was made for d.
type watchdog struct{ t *time.Timer }

func newWatchdog(pr *proc, d time.Duration, what string) *watchdog {
	return &watchdog{time.AfterFunc(d, func() { pr.kill(fmt.Sprintf("%s made no progress for %s", what, d)) })}
}

// Put streams r to the program in ChunkSize pieces. The pipe is the flow
// control: a program that reads slowly makes goinfra wait, so memory stays
// bounded on both sides.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr, err := c.live()
	if err != nil {
		return err
	}
	fail := func(err error) error {
		var ce *connector.Error
		if errors.As(err, &ce) {
			return err
		}
		return c.errorf(connector.ErrTransfer, "put %s: %w", dst, err)
	}
	if err := pr.send(&Message{Type: TypePut, Path: dst, Options: optionsToSpec(opts)}); err != nil {
		return fail(err)
	}
	wd := newWatchdog(pr, c.p.Timeout, "upload of "+dst)
	defer wd.t.Stop()
	buf := make([]byte, ChunkSize)
	var localErr error
	for localErr == nil {
		// A program that failed early replies before the end; stop sending.
		select {
		case m, ok := <-pr.in:
			if !ok {
				return fail(pr.deathError(nil))
			}
			pr.send(&Message{Type: TypeEnd, Abort: "the program replied early"})
			if m.Type == TypeError {
				return c.replyError(m, connector.ErrTransfer)
			}
			return c.unexpected("put", m)
		default:
		}
		if err := ctx.Err(); err != nil {
			localErr = err
			break
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := pr.send(&Message{Type: TypeData, Data: buf[:n]}); err != nil {
				return fail(err)
			}
			wd.t.Reset(c.p.Timeout)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			localErr = err
		}
	}
	end := &Message{Type: TypeEnd}
	if localErr != nil {
		end.Abort = "goinfra could not read the source"
	}
	if err := pr.send(end); err != nil {
		return fail(err)
	}
	wd.t.Stop()
	m, err := pr.recv(ctx, c.p.Timeout)
	switch {
	case err != nil:
		return fail(err)
	case localErr != nil:
		return fail(localErr)
	case m.Type == TypeOK:
		return nil
	case m.Type == TypeError:
		return c.replyError(m, connector.ErrTransfer)
	}
	return c.unexpected("put", m)
}

// Get receives src as data messages and writes them to w as they come.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr, err := c.live()
	if err != nil {
		return err
	}
	if err := pr.send(&Message{Type: TypeGet, Path: src, Options: optionsToSpec(opts)}); err != nil {
		return c.errorf(connector.ErrTransfer, "get %s: %w", src, err)
	}
	var localErr error
	canceled := false
	for {
		if !canceled {
			if err := ctx.Err(); err != nil {
				localErr, canceled = err, true
				pr.send(&Message{Type: TypeCancel})
			}
		}
		m, err := pr.recv(context.Background(), c.p.Timeout)
		if err != nil {
			return c.errorf(connector.ErrTransfer, "get %s: %w", src, err)
		}
		switch m.Type {
		case TypeData:
			if localErr == nil {
				if _, err := w.Write(m.Data); err != nil {
					// Tell the program to stop, then skip what is still coming.
					localErr, canceled = err, true
					pr.send(&Message{Type: TypeCancel})
				}
			}
		case TypeEnd:
			if localErr != nil {
				return c.errorf(connector.ErrTransfer, "get %s: %w", src, localErr)
			}
			if m.Abort != "" {
				return c.errorf(connector.ErrTransfer, "get %s: %s", src, m.Abort)
			}
			return nil
		case TypeError:
			if localErr != nil {
				return c.errorf(connector.ErrTransfer, "get %s: %w", src, localErr)
			}
			return c.replyError(m, connector.ErrTransfer)
		default:
			return c.unexpected("get", m)
		}
	}
}

// Finish tells a program that declared the "finish" capability how the
// host's run went.
func (c *Conn) Finish(ctx context.Context, runErr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.p.capabilities, "finish") || c.pr == nil {
		return nil
	}
	pr, err := c.live()
	if err != nil {
		return err
	}
	m := &Message{Type: TypeFinish, Success: runErr == nil}
	if runErr != nil {
		m.Message = runErr.Error()
	}
	if err := pr.send(m); err != nil {
		return c.errorf(connector.ErrConnect, "finish: %w", err)
	}
	r, err := pr.recv(ctx, c.p.Timeout)
	switch {
	case err != nil:
		return c.errorf(connector.ErrConnect, "finish: %w", err)
	case r.Type == TypeOK:
		return nil
	case r.Type == TypeError:
		return c.replyError(r, connector.ErrConnect)
	}
	return c.unexpected("finish", r)
}

// Close sends disconnect, then ends the program (killing it if it lingers).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr := c.pr
	if pr == nil {
		return nil
	}
	c.pr = nil
	var err error
	if pr.alive() {
		if err = pr.send(&Message{Type: TypeDisconnect}); err == nil {
			var m *Message
			if m, err = pr.recv(context.Background(), min(c.p.Timeout, 10*time.Second)); err == nil && m.Type == TypeError {
				err = c.replyError(m, connector.ErrConnect)
			}
		}
	}
	pr.close(c.p.KillGrace)
	if err != nil {
		var ce *connector.Error
		if !errors.As(err, &ce) {
			err = c.errorf(connector.ErrConnect, "disconnect: %w", err)
		}
	}
	return err
}

var (
	_ connector.Opener    = (*ExecProgram)(nil)
	_ connector.Describer = (*Program)(nil)
	_ connector.Finisher  = (*Conn)(nil)
)
