package runargs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Retry calls try until it succeeds or has been retried a.Retries times,
// a.RetryDelay apart, and returns try's last error. Commands and
// operations alike are retried by it.
//
// try gets a.Options with the standard input at its start: a new reader
// of a _stdin given as text for every attempt; a reader given as _stdin
// rewound, when it can seek, for every attempt after the first. A failure
// while ctx is cancelled is never retried. Each retry is logged on log
// (nil: not logged) as a warning: "what: retrying (n of N) in delay: error".
func Retry(ctx context.Context, a Args, log *slog.Logger, what string, try func(opts connector.Options) error) error {
	for attempt := 0; ; attempt++ {
		// a.Options itself is what try gets, not a copy: this frame is on
		// the path of every command down to the connector, where the
		// host's goroutine waits while the command runs (see
		// engine.Host.Run), and a copy of the options made it 320 bytes
		// larger. A text's new reader is a *text again, of the same text.
		if _, ok := a.Options.Stdin.(*text); ok {
			a.Options.Stdin = FirstStdin(a.Options.Stdin)
		} else if s, ok := a.Options.Stdin.(io.Seeker); ok && attempt > 0 {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("_stdin: %w", err)
			}
		}
		err := try(a.Options)
		if err == nil || attempt >= a.Retries || ctx.Err() != nil {
			return err
		}
		if log != nil {
			msg := strings.Join(strings.Fields(err.Error()), " ")
			log.Warn(fmt.Sprintf("%s: retrying (%d of %d) in %s: %s", what, attempt+1, a.Retries, a.RetryDelay, msg))
		}
		t := time.NewTimer(a.RetryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// FirstStdin is the standard input a command's first attempt gets from
// Retry: a new reader of a _stdin given as text, any other reader as it
// is. For callers that run a command without retries themselves.
func FirstStdin(r io.Reader) io.Reader {
	if t, ok := r.(*text); ok {
		return newText(t.s)
	}
	return r
}
