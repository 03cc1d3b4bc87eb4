package external

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
)

// Main serves d as the program for kind name on standard input and output,
// then exits: the whole main function of a connector program written in
// Go. Anything the program prints with fmt.Print* goes to stderr, so that
// stray output cannot break the protocol.
func Main(name string, d connector.Driver) {
	out := os.Stdout
	os.Stdout = os.Stderr
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // goinfra's log has its own time
			}
			return a
		},
	}))
	if err := Serve(context.Background(), name, d, os.Stdin, out, log); err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", Prefix, name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve answers the protocol on r and w for the kind d until goinfra sends
// disconnect or closes r. log is the connection's log (Host.Log); it should
// write to stderr, which goinfra forwards to its own log.
func Serve(ctx context.Context, name string, d connector.Driver, r io.Reader, w io.Writer, log *slog.Logger) error {
	s := &server{name: name, d: d, enc: newEncoder(w), log: log, in: make(chan *Message, 1), ctx: ctx}
	go func() {
		dec := newDecoder(r)
		for {
			m, err := dec.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					s.readErr = err
				}
				close(s.in)
				return
			}
			s.in <- m
		}
	}()
	defer func() {
		if s.conn != nil {
			s.conn.Close()
		}
	}()
	for m := range s.in {
		done, err := s.handle(m)
		if err != nil || done {
			return err
		}
	}
	return s.readErr
}

type server struct {
	ctx     context.Context
	name    string
	d       connector.Driver
	enc     *encoder
	log     *slog.Logger
	in      chan *Message
	readErr error
	conn    connector.Conn
}

func (s *server) fail(class string, err error) error {
	if c := errorClass(err); c != "" {
		class = c
	}
	return s.enc.send(&Message{Type: TypeError, Class: class, Message: err.Error()})
}

func (s *server) handle(m *Message) (done bool, err error) {
	switch m.Type {
	case TypeHello:
		return false, s.hello()
	case TypeExpand:
		ts, err := s.d.Expand(s.ctx, m.Arg)
		if err != nil {
			return false, s.fail(ClassInvalid, err)
		}
		out := make([]TargetSpec, len(ts))
		for i, t := range ts {
			data := make(map[string]any, len(t.Data))
			for k, v := range t.Data {
				data[k] = wireValue(v)
			}
			out[i] = TargetSpec{Name: t.Name, Data: data, Groups: t.Groups}
		}
		return false, s.enc.send(&Message{Type: TypeTargets, Targets: out})
	case TypeConnect:
		return false, s.connect(m)
	case TypeRun:
		return false, s.run(m)
	case TypePut:
		return false, s.put(m)
	case TypeGet:
		return false, s.get(m)
	case TypeFinish:
		var err error
		if f, ok := connector.As[connector.Finisher](s.conn); ok {
			var runErr error
			if !m.Success {
				runErr = errors.New(m.Message)
			}
			err = f.Finish(s.ctx, runErr)
		}
		if err != nil {
			return false, s.fail(ClassConnect, err)
		}
		return false, s.enc.send(&Message{Type: TypeOK})
	case TypeDisconnect:
		var err error
		if s.conn != nil {
			err = s.conn.Close()
			s.conn = nil
		}
		if err != nil {
			return true, s.fail(ClassConnect, err)
		}
		return true, s.enc.send(&Message{Type: TypeOK})
	case TypeData, TypeEnd, TypeCancel:
		// Trailing pieces of a request that already ended: ignored.
		return false, nil
	}
	return false, s.fail(ClassInvalid, fmt.Errorf("unknown request %q", m.Type))
}

func (s *server) hello() error {
	h := &Message{Type: TypeHello, Protocol: ProtocolVersion, Name: s.name, Executes: connector.Executes(s.d)}
	if ds, ok := s.d.(connector.Describer); ok {
		h.Description = ds.Description()
	}
	for _, k := range s.d.DataKeys() {
		h.DataKeys = append(h.DataKeys, keyToSpec(k))
	}
	if h.Executes {
		h.Capabilities = []string{"finish"}
	}
	return s.enc.send(h)
}

func (s *server) connect(m *Message) error {
	o, ok := s.d.(connector.Opener)
	if !ok {
		return s.fail(ClassUnsupported, fmt.Errorf("kind %s does not execute", s.name))
	}
	if m.Host == nil {
		return s.fail(ClassInvalid, errors.New("connect without a host"))
	}
	if s.conn != nil {
		return s.enc.send(&Message{Type: TypeOK})
	}
	data := connector.Data{}
	for k, v := range m.Host.Data {
		data[k] = v
	}
	if err := data.Check(m.Host.Name, s.d.DataKeys()); err != nil {
		return s.fail(ClassConnect, err)
	}
	h := &connector.Host{Name: m.Host.Name, Groups: m.Host.Groups, Data: data, Log: s.log}
	c, err := o.Open(h)
	if err == nil {
		err = c.Connect(s.ctx)
	}
	if err != nil {
		return s.fail(ClassConnect, err)
	}
	// The program applies the escalation options (and passwords) it is
	// given as goinfra itself would.
	s.conn = escalate.Wrap(c, escalate.Config{Host: h.Name})
	return s.enc.send(&Message{Type: TypeOK})
}

func (s *server) notConnected() error {
	return s.fail(ClassConnect, errors.New("not connected"))
}

func (s *server) run(m *Message) error {
	if s.conn == nil {
		return s.notConnected()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	opts := m.Options.options()
	streamed := 0
	opts.OnLine = func(l connector.Line) {
		streamed++
		s.enc.send(&Message{Type: TypeLine, Stream: l.Stream.String(), Text: l.Text, Continued: l.Continued})
	}
	var stdin *io.PipeWriter
	if m.Stdin {
		var pr *io.PipeReader
		pr, stdin = io.Pipe()
		opts.Stdin = pr
		defer pr.Close()
	}
	type outcome struct {
		res connector.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		// The unwrapped text runs as one shell line; the Conn wraps it
		// again with the same options, as a built-in kind would.
		res, err := s.conn.Run(ctx, command.Shell(m.Unwrapped), opts)
		if stdin != nil {
			opts.Stdin.(*io.PipeReader).CloseWithError(io.ErrClosedPipe)
		}
		done <- outcome{res, err}
	}()
	canceled := false
	in := s.in
	for {
		select {
		case msg, ok := <-in:
			if !ok {
				cancel()
				in = nil
				continue
			}
			switch msg.Type {
			case TypeData:
				if stdin != nil {
					stdin.Write(msg.Data) // fails once the command is gone: the rest is dropped
				}
			case TypeEnd:
				if stdin != nil {
					stdin.Close()
				}
			case TypeCancel:
				canceled = true
				cancel()
			}
		case o := <-done:
			if streamed == 0 {
				for _, l := range o.res.Lines {
					s.enc.send(&Message{Type: TypeLine, Stream: l.Stream.String(), Text: l.Text, Continued: l.Continued})
				}
			}
			code := o.res.ExitCode
			var te *connector.TimeoutError
			switch {
			case errors.As(o.err, &te) || canceled:
				return s.enc.send(&Message{Type: TypeExit, Code: &code, TimedOut: true})
			case o.err == nil || (errors.Is(o.err, connector.ErrCommand) && code >= 0):
				return s.enc.send(&Message{Type: TypeExit, Code: &code})
			}
			return s.fail(ClassCommand, o.err)
		}
	}
}

func (s *server) put(m *Message) error {
	if s.conn == nil {
		return s.notConnected()
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.conn.Put(s.ctx, pr, m.Path, m.Options.options())
		pr.CloseWithError(errors.New("upload ended"))
		done <- err
	}()
	for msg := range s.in {
		switch msg.Type {
		case TypeData:
			pw.Write(msg.Data) // fails only once Put gave up; its error is reported below
		case TypeEnd:
			if msg.Abort != "" {
				pw.CloseWithError(fmt.Errorf("upload aborted: %s", msg.Abort))
			} else {
				pw.Close()
			}
			if err := <-done; err != nil {
				return s.fail(ClassTransfer, err)
			}
			return s.enc.send(&Message{Type: TypeOK})
		}
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-done
	return s.readErr
}

// chunkWriter sends what is written as data messages of at most ChunkSize.
type chunkWriter struct{ enc *encoder }

func (c chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), ChunkSize)
		if err := c.enc.send(&Message{Type: TypeData, Data: p[:k]}); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (s *server) get(m *Message) error {
	if s.conn == nil {
		return s.notConnected()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.conn.Get(ctx, m.Path, chunkWriter{s.enc}, m.Options.options()) }()
	in := s.in
	for {
		select {
		case msg, ok := <-in:
			if !ok || msg.Type == TypeCancel {
				cancel()
				in = nil
			}
		case err := <-done:
			if err != nil {
				return s.fail(ClassTransfer, err)
			}
			return s.enc.send(&Message{Type: TypeEnd})
		}
	}
}
