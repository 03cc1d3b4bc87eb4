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
		opts := a.Options
		if t, ok := opts.Stdin.(*text); ok {
			opts.Stdin = newText(t.s)
		} else if s, ok := opts.Stdin.(io.Seeker); ok && attempt > 0 {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("_stdin: %w", err)
			}
		}
		err := try(opts)
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
