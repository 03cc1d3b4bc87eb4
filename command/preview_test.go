package command_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
)

// sudoHost is a connection whose sudo wants a password: it records every
// command as the transport would run it (wrapped) and answers sudo -n
// with sudo's refusal.
type sudoHost struct {
	mu      sync.Mutex
	wrapped []string
}

func (h *sudoHost) Connect(context.Context) error { return nil }
func (h *sudoHost) Close() error                  { return nil }
func (h *sudoHost) Put(context.Context, io.Reader, string, connector.Options) error {
	return nil
}
func (h *sudoHost) Get(context.Context, string, io.Writer, connector.Options) error {
	return nil
}

func (h *sudoHost) Run(_ context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	w := opts.Unix.Wrap(cmd).String()
	h.mu.Lock()
	h.wrapped = append(h.wrapped, w)
	h.mu.Unlock()
	if opts.Stdin != nil {
		io.Copy(io.Discard, opts.Stdin)
	}
	if strings.Contains(w, "sudo -H -n") {
		return connector.Result{ExitCode: 1, Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stderr, Text: "sudo: a password is required"}}}},
			connector.Errorf("h", connector.ErrCommand, "exit code 1")
	}
	return connector.Result{}, nil
}

// Issue 15, item 12: what a dry run shows (Preview, then Wrap) is what a
// real run with a sudo password runs: sudo -S, not sudo -n.
func TestPreviewIsWhatARunWithAPasswordRuns(t *testing.T) {
	host := &sudoHost{}
	conn := escalate.Wrap(host, escalate.Config{Host: "h"})
	cmd := command.Args("id", "-un")
	opts := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "app"}, SudoPassword: "secret"}
	if _, err := conn.Run(context.Background(), cmd, opts); err != nil {
		t.Fatal(err)
	}
	ran := host.wrapped[len(host.wrapped)-1]
	if shown := opts.Unix.Preview(opts.SudoPassword != "").Wrap(cmd).String(); shown != ran {
		t.Errorf("dry run shows %q, the run ran %q", shown, ran)
	}
	// Without a password sudo runs with -n, and the preview says so.
	if shown := opts.Unix.Preview(false).Wrap(cmd).String(); !strings.Contains(shown, "sudo -H -n -u app") {
		t.Errorf("without a password the preview is %q", shown)
	}
}
