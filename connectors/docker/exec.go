package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// markerVar is set in the environment of every exec that may have to be
// stopped: the Engine API cannot kill an exec, so a second exec finds the
// processes carrying the marker (children inherit it) and kills them.
const markerVar = "GOINFRA_EXEC"

// killScript kills every process whose environment holds "$1" (the marker
// assignment). Each pass first stops them all, so that none reacts to
// another's death (a shell going on to its next command), then kills them;
// passes repeat while they find processes, to catch children forked during
// one.
const killScript = `i=0; while [ $i -lt 10 ]; do i=$((i+1)); p=; ` +
	`for d in /proc/[0-9]*; do if grep -q "$1" "$d/environ" 2>/dev/null; then p="$p ${d#/proc/}"; fi; done; ` +
	`[ -z "$p" ] && exit 0; kill -STOP $p 2>/dev/null; kill -KILL $p 2>/dev/null; done; exit 0`

// begin admits one Run, Put or Get: it fails unless the connection is
// up, and Close waits for what it admitted, so an operation that outlives
// its caller (a goroutine) never finds the client gone. Call the returned
// end when the operation is over.
func (c *Conn) begin() (end func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil, c.errorf(connector.ErrNotConnected, "docker connection used after Close")
	}
	if c.cli == nil || c.id == "" {
		return nil, c.errorf(connector.ErrNotConnected, "docker connection used before Connect")
	}
	c.inflight.Add(1)
	return c.inflight.Done, nil
}

// execUser is the exec's user: the user the options switch to
// (command.Unix.User), else docker_user, else "" (the container's own
// user).
func (c *Conn) execUser(o connector.Options) string {
	switch u := o.Unix.User(); u {
	case "":
		return c.host.Data.String("docker_user")
	case "root":
		return "0"
	default:
		return u
	}
}

// SwitchesUser implements connector.UserSwitcher: the exec's user is the
// switch, no sudo, su or doas runs in the container.
func (c *Conn) SwitchesUser() {}

// argv is the exec's command line: `<shell> [-l] -c <command>`, the only
// shell layer. _chdir goes into the command so that a missing directory is
// the shell's error with its usual exit code; _env goes into the exec's
// environment, where no value is ever parsed by a shell.
func argv(cmd command.Command, o connector.Options) ([]string, string) {
	if o.Chdir != "" {
		cmd = command.New("cd", command.Quoted(o.Chdir), "&&", cmd)
	}
	shell := o.ShellExecutable
	if shell == "" {
		shell = command.DefaultShell
	}
	if shell == command.NoShell {
		return splitWords(cmd.Raw()), cmd.String()
	}
	args := []string{shell}
	shown := command.New(command.Quoted(shell))
	if o.UseSudoLogin || o.UseSuLogin {
		args = append(args, "-l")
		shown = shown.Append("-l")
	}
	args = append(args, "-c", cmd.Raw())
	return args, shown.Append("-c").Append(command.QuotedCommand(cmd)).String()
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env)+1)
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func token() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run implements connector.Conn.
func (c *Conn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	end, err := c.begin()
	if err != nil {
		return res, err
	}
	defer end()
	if err := opts.Unix.Validate(); err != nil {
		return res, c.errorf(connector.ErrCommand, "%w", err)
	}
	c.runPendingStops(ctx)
	args, shown := argv(cmd, opts)
	if len(args) == 0 {
		return res, c.errorf(connector.ErrCommand, "empty command")
	}
	if opts.OnCommand != nil {
		opts.OnCommand(shown)
	}
	env := envList(opts.Env)
	marker := markerVar + "=" + token()
	env = append(env, marker)

	start := time.Now()
	rec := connector.NewRecorderFor(opts, c.host.Logger())
	user := c.execUser(opts)
	ex, err := c.cli.ExecCreate(ctx, c.id, client.ExecCreateOptions{
		Cmd: args, User: user, Env: env, TTY: opts.PTY,
		AttachStdin: opts.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return res, c.errorf(connector.ErrConnect, "creating exec: %w", err)
	}
	att, err := c.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: opts.PTY})
	if err != nil {
		return res, c.errorf(connector.ErrConnect, "starting exec: %w", err)
	}
	defer att.Close()

	if opts.Stdin != nil {
		go func() {
			io.Copy(att.Conn, opts.Stdin)
			att.CloseWrite()
		}()
	}

	// Stop the command at the time limit or when ctx ends: kill its
	// processes from a second exec, then drop the stream.
	var limit <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		limit = t.C
	}
	done := make(chan struct{})
	var why error // set by the watcher before it ends
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-limit:
			why = &connector.TimeoutError{Host: c.host.Name, Limit: opts.Timeout}
		case <-ctx.Done():
			why = c.errorf(connector.ErrTimeout, "command stopped: %w", ctx.Err())
		case <-done:
			return
		}
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := c.kill(kctx, marker, user); err != nil {
			c.host.Logger().Warn("could not reach the engine to stop the command; it is stopped when the engine answers again", "err", err)
			c.stopLater(marker, user)
		}
		att.Close()
	}()

	if opts.PTY {
		_, err = io.Copy(rec.Stdout(), att.Reader)
	} else {
		_, err = stdcopy.StdCopy(rec.Stdout(), rec.Stderr(), att.Reader)
	}
	readErr := err
	close(done)
	wg.Wait()
	res.Output = rec.Output()
	res.Duration = time.Since(start)
	if why != nil {
		return res, why
	}
	// An engine may drop the stream as the command ends (Podman resets it
	// when stdin is still being written): if the command has ended, its
	// output ended with it; if not, the connection was lost.
	wctx := ctx
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	code, err := c.exitCode(wctx, ex.ID)
	if err != nil {
		if readErr != nil {
			err = readErr
		}
		// The command may still run in the container.
		c.stopLater(marker, user)
		return res, c.errorf(connector.ErrConnect, "reading the command's result: %w", err)
	}
	res.ExitCode = code
	if !opts.Succeeded(code) {
		return res, &connector.CommandError{Host: c.host.Name, ExitCode: code, Command: shown}
	}
	return res, nil
}

// exitCode waits for the exec to be seen as ended and returns its code.
func (c *Conn) exitCode(ctx context.Context, id string) (int, error) {
	delay := time.Millisecond
	for {
		in, err := c.cli.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, err
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		// The stream can end a moment before the engine records the exit.
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// splitWords splits a command line rendered by package command into words,
// for _shell_executable "none": single and double quotes and backslashes
// as a POSIX shell reads them, no expansions.
func splitWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		in    bool
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case ch == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case ch == '"':
			in = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case ch == '\\' && i+1 < len(s):
			in = true
			i++
			cur.WriteByte(s[i])
		default:
			in = true
			cur.WriteByte(ch)
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
