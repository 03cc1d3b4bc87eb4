package conntest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// The suite must fail connectors that get things wrong: each case below is
// the local connector with one typical bug, run by this test binary in a
// child process whose failure (and the failing subtest) is checked.

const brokenEnv = "CONNTEST_BROKEN"

func TestMain(m *testing.M) {
	if mode := os.Getenv(brokenEnv); mode != "" {
		match := func(pat, str string) (bool, error) { return regexp.MatchString(pat, str) }
		testing.Main(match, []testing.InternalTest{{Name: "Broken", F: func(t *testing.T) {
			conntest.Run(t, func(t *testing.T) connector.Conn {
				return &broken{Conn: local.New(nil), mode: mode}
			}, conntest.Options{Host: local.HostName})
		}}}, nil, nil)
		return
	}
	os.Exit(m.Run())
}

func TestCatchesBrokenConnectors(t *testing.T) {
	cases := []struct{ mode, subtest, why string }{
		{"kill-leader-only", "Timeout", "still running"},
		{"kill-leader-only", "Cancel", "still running"},
		{"non-atomic-put", "PutAtomicOnFailure", "want the old content"},
		{"buffered-online", "Streaming", "OnLine was not called while the command ran"},
		{"text-get", "PutGetBinary", "differing"},
		{"plain-exit-error", "ExitCode", "is not a *connector.CommandError"},
		{"stderr-after-stdout", "OutputOrder", "lines"},
		{"timeout-as-exit", "Timeout", "is not a *connector.TimeoutError"},
		{"truncate-stdin", "Stdin", "wc -c"},
		{"no-duration", "Duration", "Result.Duration 0s"},
	}
	for _, tc := range cases {
		t.Run(tc.mode+"/"+tc.subtest, func(t *testing.T) {
			t.Parallel() // several wait out the suite's grace periods
			cmd := exec.Command(os.Args[0], "-test.run=^Broken$/^"+tc.subtest+"$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a connector with bug %s:\n%s", tc.mode, out)
			}
			if !strings.Contains(string(out), "--- FAIL: Broken/"+tc.subtest) || !strings.Contains(string(out), tc.why) {
				t.Errorf("want subtest %s to fail with %q:\n%s", tc.subtest, tc.why, out)
			}
		})
	}
}

// broken is the local connector with one bug, chosen by mode.
type broken struct {
	*local.Conn
	mode string
}

func (b *broken) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	switch b.mode {
	case "kill-leader-only":
		return b.runNaive(ctx, cmd, opts)
	case "buffered-online":
		on := opts.OnLine
		opts.OnLine = nil
		res, err := b.Conn.Run(ctx, cmd, opts)
		if on != nil {
			for _, l := range res.Lines {
				on(l)
			}
		}
		return res, err
	case "plain-exit-error":
		res, err := b.Conn.Run(ctx, cmd, opts)
		if err != nil {
			return res, fmt.Errorf("exit status %d", res.ExitCode)
		}
		return res, nil
	case "stderr-after-stdout":
		res, err := b.Conn.Run(ctx, cmd, opts)
		var lines []connector.Line
		for _, s := range []connector.Stream{connector.Stdout, connector.Stderr} {
			for _, l := range res.Lines {
				if l.Stream == s {
					lines = append(lines, l)
				}
			}
		}
		res.Lines = lines
		return res, err
	case "timeout-as-exit":
		res, err := b.Conn.Run(ctx, cmd, opts)
		if err != nil && res.ExitCode == -1 {
			return res, &connector.CommandError{Host: local.HostName, ExitCode: -1}
		}
		return res, err
	case "no-duration":
		// The ssh connector's bug: a defer that set the duration on a
		// copy of the result already returned.
		res, err := b.Conn.Run(ctx, cmd, opts)
		res.Duration = 0
		return res, err
	case "truncate-stdin":
		if opts.Stdin != nil {
			opts.Stdin = io.LimitReader(opts.Stdin, 64<<10)
		}
	}
	return b.Conn.Run(ctx, cmd, opts)
}

// runNaive is what many connectors do: kill the shell on timeout, not what
// it started, and stop waiting for output soon after.
func (b *broken) runNaive(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	rec := connector.NewRecorder(opts.OnLine)
	p := exec.CommandContext(runCtx, "sh", "-c", opts.Unix.Wrap(cmd).Raw())
	p.Stdout, p.Stderr, p.Stdin = rec.Stdout(), rec.Stderr(), opts.Stdin
	p.WaitDelay = 100 * time.Millisecond
	err := p.Run()
	res := connector.Result{Output: rec.Output(), ExitCode: p.ProcessState.ExitCode()}
	switch {
	case runCtx.Err() != nil && ctx.Err() != nil:
		return res, ctx.Err()
	case runCtx.Err() != nil:
		res.ExitCode = -1
		return res, &connector.TimeoutError{Host: local.HostName, Limit: opts.Timeout}
	case err != nil && !opts.Succeeded(res.ExitCode):
		return res, &connector.CommandError{Host: local.HostName, ExitCode: res.ExitCode}
	}
	return res, nil
}

func (b *broken) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if b.mode == "non-atomic-put" {
		f, err := os.Create(dst)
		if err != nil {
			return connector.Errorf(local.HostName, connector.ErrTransfer, "put %s: %w", dst, err)
		}
		defer f.Close()
		if _, err := io.Copy(f, r); err != nil {
			return connector.Errorf(local.HostName, connector.ErrTransfer, "put %s: %w", dst, err)
		}
		return nil
	}
	return b.Conn.Put(ctx, r, dst, opts)
}

func (b *broken) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if b.mode == "text-get" {
		// Reading lines and writing them back with newlines: the bug
		// pyinfra's local and chroot downloads had.
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(b.Conn.Get(ctx, src, pw, opts)) }()
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			fmt.Fprintln(w, sc.Text())
		}
		return sc.Err()
	}
	return b.Conn.Get(ctx, src, w, opts)
}
