package runargs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/runargs"
)

func TestResolveTypes(t *testing.T) {
	r := runargs.Resolver{Host: "h"}
	a, err := r.Resolve(map[string]any{"_sudo": true, "_sudo_user": "app", "_env": map[string]any{"A": "x", "N": 1},
		"_timeout": 2, "_success_exit_codes": []any{0, 3}, "_retries": 2, "_parallel": 3, "_serial": true,
		"_run_once": true, "_ignore_errors": true, "_continue_on_error": true, "_if": false, "other": 1})
	if err != nil {
		t.Fatal(err)
	}
	o := a.Options
	if !o.Sudo || o.SudoUser != "app" || o.Env["N"] != "1" || o.Timeout != 2*time.Second || !o.Succeeded(3) || o.Succeeded(1) {
		t.Errorf("options %+v", o)
	}
	if o.ShellExecutable != "sh" || a.RetryDelay != 5*time.Second {
		t.Errorf("defaults: shell %q, retry delay %s", o.ShellExecutable, a.RetryDelay)
	}
	if a.Retries != 2 || a.Parallel != 3 || !a.Serial || !a.RunOnce || !a.IgnoreErrors || !a.ContinueOnError || a.If != false {
		t.Errorf("operation controls %+v", a)
	}
	if _, err := r.Resolve(map[string]any{"_env": map[string]any{"A B": "x"}}); err == nil || !strings.Contains(err.Error(), "host h") {
		t.Errorf("bad env name: %v", err)
	}
	_, err = r.Resolve(map[string]any{"_retries": "twice"})
	var te *connector.DataTypeError
	if !errors.As(err, &te) || te.Key != "_retries" || te.Host != "h" {
		t.Errorf("wrong type: %v", err)
	}
	if _, err := r.Resolve(map[string]any{"_retry": 1}); err == nil || !strings.Contains(err.Error(), "host h: unknown global argument _retry") {
		t.Errorf("unknown key: %v", err)
	}
}

// The layers beat host data, which beats the run's arguments, unless the
// data holds only the declared default.
func TestResolveLayers(t *testing.T) {
	r := runargs.Resolver{
		Host:    "h",
		Data:    connector.Data{"_sudo_user": "data", "_chdir": "/data", "_sudo": false},
		Default: func(k string) bool { return k == "_sudo" },
		Run:     map[string]any{"_sudo": true, "_chdir": "/run", "_timeout": 3},
	}
	a, err := r.Resolve(map[string]any{"_sudo_user": "call", "_chdir": nil}, map[string]any{"_sudo_user": "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	o := a.Options
	if o.SudoUser != "call" || o.Chdir != "/data" || !o.Sudo || o.Timeout != 3*time.Second {
		t.Errorf("resolved %+v", o)
	}
}

// A _stdin string or list arrives as pyinfra writes it: every line ends
// with a newline, none doubled; bytes pass as they are.
func TestStdinLines(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"hello", "hello\n"},
		{"hello\n", "hello\n"},
		{"a\nb", "a\nb\n"},
		{[]any{"a", "b"}, "a\nb\n"},
		{[]string{"a\n", "b"}, "a\nb\n"},
		{[]any{}, ""},
		{[]byte("raw"), "raw"},
	} {
		a, err := runargs.Resolver{Host: "h"}.Resolve(map[string]any{"_stdin": c.in})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(a.Options.Stdin); string(b) != c.want {
			t.Errorf("_stdin %#v: read %q, want %q", c.in, b, c.want)
		}
	}
	if _, err := (runargs.Resolver{Host: "h"}).Resolve(map[string]any{"_stdin": []any{"a", 1}}); err == nil || !strings.Contains(err.Error(), "host h: _stdin") {
		t.Errorf("list holding an int: %v", err)
	}
}

// Retry tries again as _retries says, each attempt reading the whole
// input, and logs each retry.
func TestRetry(t *testing.T) {
	a, err := runargs.Resolver{Host: "h"}.Resolve(map[string]any{"_retries": 2, "_retry_delay": 0.001, "_stdin": "in"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var reads []string
	fail := errors.New("failed\nsecond line")
	err = runargs.Retry(context.Background(), a, log, "op", func(o connector.Options) error {
		b, _ := io.ReadAll(o.Stdin)
		reads = append(reads, string(b))
		return fail
	})
	if err != fail || strings.Join(reads, "|") != "in\n|in\n|in\n" {
		t.Errorf("err %v, reads %q", err, reads)
	}
	if !strings.Contains(logs.String(), "op: retrying (2 of 2) in 1ms: failed second line") {
		t.Errorf("log: %s", logs.String())
	}
	// Another command of the same operation reads all of it again.
	a.Retries = 0
	runargs.Retry(context.Background(), a, nil, "op", func(o connector.Options) error {
		b, _ := io.ReadAll(o.Stdin)
		reads = append(reads, string(b))
		return nil
	})
	if reads[len(reads)-1] != "in\n" {
		t.Errorf("second command read %q", reads[len(reads)-1])
	}
}

// A reader given as _stdin is rewound before each retry.
func TestRetryRewindsReader(t *testing.T) {
	a, err := runargs.Resolver{Host: "h"}.Resolve(map[string]any{"_retries": 1, "_retry_delay": 0, "_stdin": bytes.NewReader([]byte("xy"))})
	if err != nil {
		t.Fatal(err)
	}
	var reads []string
	runargs.Retry(context.Background(), a, nil, "op", func(o connector.Options) error {
		b, _ := io.ReadAll(o.Stdin)
		reads = append(reads, string(b))
		return errors.New("no")
	})
	if strings.Join(reads, "|") != "xy|xy" {
		t.Errorf("reads %q", reads)
	}
	a.Options.Stdin = badSeeker{}
	err = runargs.Retry(context.Background(), a, nil, "op", func(connector.Options) error { return errors.New("no") })
	if err == nil || !strings.Contains(err.Error(), "_stdin: cannot seek") {
		t.Errorf("seek failure: %v", err)
	}
}

type badSeeker struct{}

func (badSeeker) Read([]byte) (int, error)       { return 0, io.EOF }
func (badSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("cannot seek") }

// A failure once ctx is cancelled is not retried, nor is the delay waited.
func TestRetryCancelled(t *testing.T) {
	a := runargs.Args{Retries: 5, RetryDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := runargs.Retry(ctx, a, nil, "op", func(connector.Options) error {
		n++
		cancel()
		return errors.New("no")
	})
	if err == nil || n != 1 {
		t.Errorf("%d attempts, err %v", n, err)
	}
	// Cancelled during the delay: no further attempt.
	ctx, cancel = context.WithCancel(context.Background())
	n = 0
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	err = runargs.Retry(ctx, a, nil, "op", func(connector.Options) error { n++; return errors.New("no") })
	if err == nil || n != 1 {
		t.Errorf("cancelled in the delay: %d attempts, err %v", n, err)
	}
}
