package external

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/internal/procgroup"
)

// proc is one running connector program and goinfra's end of its pipes.
// Messages are read by one goroutine into a small channel, so the program
// is never blocked writing while goinfra writes to it (no deadlock), and
// at most a few messages (each at most MaxMessage) are held in memory.
type proc struct {
	prog  string // program file name, for messages
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *encoder
	in    chan *Message
	log   *slog.Logger

	readErr error         // why in was closed; set (under mu) before close(in)
	exited  chan struct{} // closed once the process has been waited for
	waitErr error

	mu      sync.Mutex
	tail    []string // last stderr lines, for error messages
	killed  string   // why goinfra killed it, if it did
	closing bool
}

const stderrTail = 5

func startProc(path string, log *slog.Logger) (*proc, error) {
	cmd := exec.Command(path)
	cmd.Env = programEnv(os.Environ())
	// Own process group: a kill also reaches the commands it started.
	procgroup.Own(cmd)
	// A program that leaves its pipes to a child must not keep Wait forever.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{
		prog: baseName(path), cmd: cmd, stdin: stdin, enc: newEncoder(stdin),
		in: make(chan *Message, 4), log: log, exited: make(chan struct{}),
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	var stderrDone sync.WaitGroup
	stderrDone.Add(1)
	go func() {
		defer stderrDone.Done()
		p.readStderr(stderr)
	}()
	go func() {
		p.readLoop(stdout)
		stderrDone.Wait()
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (p *proc) readStderr(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 64<<10)
	for s.Scan() {
		line := s.Text()
		p.log.Info(line, "program", p.prog, "stream", "stderr")
		p.mu.Lock()
		if len(line) > 300 {
			line = line[:300] + "..."
		}
		p.tail = append(p.tail, line)
		if len(p.tail) > stderrTail {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
	}
	// Drain what a too-long line left, so the program never blocks on stderr.
	io.Copy(io.Discard, r)
}

func (p *proc) readLoop(r io.Reader) {
	d := newDecoder(r)
	for {
		m, err := d.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = &ProtocolError{Program: p.prog, Reason: err.Error()}
				p.kill("it broke the protocol")
			}
			p.mu.Lock()
			p.readErr = err
			p.mu.Unlock()
			close(p.in)
			io.Copy(io.Discard, r)
			return
		}
		if m.Type == TypeLog {
			p.logMessage(m)
			continue
		}
		p.in <- m
	}
}

func (p *proc) logMessage(m *Message) {
	lvl := slog.LevelInfo
	switch m.Level {
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	p.log.Log(context.Background(), lvl, m.Message, "program", p.prog)
}

// kill stops the program and everything in its process group.
func (p *proc) kill(why string) {
	p.mu.Lock()
	if p.killed == "" {
		p.killed = why
	}
	p.mu.Unlock()
	if p.cmd.Process != nil {
		procgroup.Kill(p.cmd.Process.Pid)
		p.cmd.Process.Kill()
	}
	p.stdin.Close()
}

func (p *proc) send(m *Message) error {
	if err := p.enc.send(m); err != nil {
		return p.deathError(fmt.Errorf("write to program: %w", err))
	}
	return nil
}

// errStall is a reply that did not come in time.
var errStall = errors.New("no reply")

// recv waits for the next message for at most timeout (0: no limit) or
// until ctx ends. A program that does not answer in time, or whose
// request is canceled, is killed.
func (p *proc) recv(ctx context.Context, timeout time.Duration) (*Message, error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case m, ok := <-p.in:
		if !ok {
			return nil, p.deathError(nil)
		}
		return m, nil
	case <-tc:
		p.kill(fmt.Sprintf("it did not answer within %s", timeout))
		return nil, fmt.Errorf("%w from connector program %s within %s (killed it)", errStall, p.prog, timeout)
	case <-ctx.Done():
		// The reply may still come; the session is out of step for good.
		p.kill("the request was canceled")
		return nil, ctx.Err()
	}
}

// deathError explains why the program stopped talking: garbage, a kill by
// goinfra, or its own exit (with status and the last stderr lines).
func (p *proc) deathError(cause error) error {
	exited := false
	select {
	case <-p.exited:
		exited = true
	case <-time.After(3 * time.Second):
	}
	p.mu.Lock()
	readErr := p.readErr
	p.mu.Unlock()
	var pe *ProtocolError
	if errors.As(readErr, &pe) {
		return pe
	}
	p.mu.Lock()
	killed, tail, closing := p.killed, strings.Join(p.tail, " | "), p.closing
	p.mu.Unlock()
	var msg string
	switch {
	case killed != "":
		msg = fmt.Sprintf("connector program %s was killed: %s", p.prog, killed)
	case exited && p.waitErr != nil && !closing:
		msg = fmt.Sprintf("connector program %s exited unexpectedly (%v)", p.prog, p.waitErr)
	case exited:
		msg = fmt.Sprintf("connector program %s exited unexpectedly (exit status 0)", p.prog)
	default:
		msg = fmt.Sprintf("connector program %s closed its output", p.prog)
	}
	if tail != "" {
		msg += "; its last stderr: " + tail
	}
	if cause != nil {
		return fmt.Errorf("%s: %w", msg, cause)
	}
	return errors.New(msg)
}

// handshake sends hello and checks the version of the reply.
func (p *proc) handshake(ctx context.Context, timeout time.Duration) (*Message, error) {
	if err := p.send(&Message{Type: TypeHello, Protocol: ProtocolVersion}); err != nil {
		return nil, err
	}
	m, err := p.recv(ctx, timeout)
	if err != nil {
		return nil, err
	}
	if m.Type != TypeHello {
		p.kill("it broke the protocol")
		return nil, &ProtocolError{Program: p.prog, Reason: fmt.Sprintf("expected a hello reply, got %q", m.Type)}
	}
	if m.Protocol != ProtocolVersion {
		p.kill("wrong protocol version")
		return nil, &ProtocolError{Program: p.prog, Reason: fmt.Sprintf("it speaks protocol version %d, goinfra speaks %d", m.Protocol, ProtocolVersion)}
	}
	return m, nil
}

// close ends the program: stdin is closed (the program exits on EOF), and
// it is killed if it has not exited after grace.
func (p *proc) close(grace time.Duration) error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.stdin.Close()
	// Unread messages are dropped, so the program never blocks writing.
	go func() {
		for range p.in {
		}
	}()
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill(fmt.Sprintf("it did not exit within %s of disconnect", grace))
		<-p.exited
	}
	return nil
}

// alive reports whether the program can still be talked to.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed == ""
}

// envDuration reads a duration from the environment (Go syntax or seconds).
func envDuration(key string, def time.Duration) time.Duration {
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err == nil && f > 0 {
		return time.Duration(f * float64(time.Second))
	}
	return def
}

// programEnv is goinfra's environment without the secrets a user may have
// given goinfra through it (GOINFRA_SUDO_PASSWORD, ...): a program, and
// the commands it starts, must not see them.
func programEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GOINFRA_") && secretName(name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func secretName(name string) bool {
	for _, w := range []string{"PASSWORD", "PASSPHRASE", "SECRET", "TOKEN"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
