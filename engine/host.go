package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/runargs"
)

// Host is an inventory host taking part in a run.
type Host struct {
	*inventory.Host
	// Conn is the host's connection; set by Connect, nil before (and
	// when opening failed). It is the connector's Conn inside the
	// escalation layer (connector/escalate); connector.As finds the
	// connector's optional capabilities behind it.
	Conn connector.Conn
	// Log is the run log of this host (it carries the "host" attribute).
	Log *slog.Logger

	run *Run

	mu        sync.Mutex
	err       error
	connected bool
	memo      map[string]*memoEntry
}

type memoEntry struct {
	once  sync.Once
	value any
	err   error
	done  atomic.Bool // value and err are set
}

// Err is why the host failed, or nil while it is active.
func (h *Host) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Fail marks the host failed (the first error is kept): it takes part in
// no later step and its connector is finished with err.
func (h *Host) Fail(err error) {
	if err == nil {
		return
	}
	h.fail(err)
}

func (h *Host) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = err
	}
}

// Connected reports whether the host's connection is up.
func (h *Host) Connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connected
}

// connect opens the host's connector (once) and connects it.
func (h *Host) connect(ctx context.Context) error {
	if h.Conn == nil {
		d, ok := connector.Lookup(h.Kind)
		if !ok {
			return connector.Errorf(h.Name, connector.ErrConnect, "%w", &connector.UnknownKindError{Kind: h.Kind, Known: connector.Kinds()})
		}
		op, ok := d.(connector.Opener)
		if !ok {
			return connector.Errorf(h.Name, connector.ErrUnsupported, "connector kind %s does not run commands", h.Kind)
		}
		ch := h.ConnectorHost()
		ch.Log = h.Log
		c, err := op.Open(ch)
		if err != nil {
			if errors.Is(err, connector.ErrConnect) {
				return err
			}
			return connector.Errorf(h.Name, connector.ErrConnect, "%w", err)
		}
		var passwords *escalate.Asker
		if h.run != nil {
			passwords = h.run.passwords
		}
		h.Conn = escalate.Wrap(c, escalate.Config{Host: h.Name, Passwords: passwords, OnBlocked: h.Fail})
	}
	h.Log.Debug("connecting")
	if err := h.Conn.Connect(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	h.connected = true
	h.mu.Unlock()
	h.Log.Debug("connected")
	return nil
}

// close finishes (when connected) and closes the host's connector;
// stopErr is the run's reason for stopping early, if any.
func (h *Host) close(ctx context.Context, stopErr error) error {
	if h.Conn == nil {
		return nil
	}
	var errs []error
	if f, ok := connector.As[connector.Finisher](h.Conn); ok && h.Connected() {
		runErr := h.Err()
		if runErr == nil && stopErr != nil {
			runErr = fmt.Errorf("run stopped: %w", stopErr)
		}
		if err := f.Finish(ctx, runErr); err != nil {
			h.Log.Error("finishing failed", "error", err)
			errs = append(errs, err)
		}
	}
	if err := h.Conn.Close(); err != nil {
		h.Log.Error("disconnecting failed", "error", err)
		errs = append(errs, err)
	}
	h.mu.Lock()
	h.connected = false
	h.mu.Unlock()
	h.Log.Debug("disconnected")
	return errors.Join(errs...)
}

// Args resolves the global arguments of one command or operation on h
// (see runargs.Resolver.Resolve). Layers are given highest first —
// typically the call's own keywords, then the enclosing deploy's. Below
// them come the host's data (host, group and --data values; keys only at
// their declared default do not count), then the run's Config.Args (CLI
// flags), then the defaults. A wrong type is an error naming the host and
// the key.
func (h *Host) Args(layers ...map[string]any) (runargs.Args, error) {
	r := runargs.Resolver{Host: h.Name}
	if h.Host != nil {
		r.Data = h.Data
		r.Default = func(k string) bool { return h.Source(k) == "default" }
	}
	if h.run != nil {
		r.Run = h.run.cfg.Args
	}
	return r.Resolve(layers...)
}

// Memo returns the value cached on h under key, computing it with fill
// the first time (concurrent callers wait for that one call). Errors are
// cached too. Facts use it to gather each fact once per host and run;
// Forget drops entries an operation may have made stale.
func (h *Host) Memo(key string, fill func() (any, error)) (any, error) {
	h.mu.Lock()
	if h.memo == nil {
		h.memo = map[string]*memoEntry{}
	}
	e, ok := h.memo[key]
	if !ok {
		e = &memoEntry{}
		h.memo[key] = e
	}
	h.mu.Unlock()
	e.once.Do(func() { e.value, e.err = fill(); e.done.Store(true) })
	return e.value, e.err
}

// Memoized returns the values cached with Memo whose keys start with
// prefix and whose computation has succeeded, by key (the CLI's
// --debug-facts shows the facts a plan gathered). A computation still
// running is left out, not waited for.
func (h *Host) Memoized(prefix string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]any{}
	for k, e := range h.memo {
		if strings.HasPrefix(k, prefix) && e.done.Load() && e.err == nil {
			out[k] = e.value
		}
	}
	return out
}

// Forget drops the cached values whose keys start with prefix ("" drops
// all).
func (h *Host) Forget(prefix string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.memo {
		if strings.HasPrefix(k, prefix) {
			delete(h.memo, k)
		}
	}
}

// Run runs cmd on h's connection with args.Options, retrying a failed
// command as args say (runargs.Retry: _retries times, _retry_delay apart;
// the zero Args for no retries). A cancelled ctx is never retried. The
// result and error are the last attempt's.
func (h *Host) Run(ctx context.Context, cmd command.Command, args runargs.Args) (connector.Result, error) {
	res := connector.Result{ExitCode: -1}
	if h.Conn == nil {
		return res, connector.Errorf(h.Name, connector.ErrNotConnected, "cannot run a command")
	}
	if args.Retries == 0 {
		// What Retry does for one attempt, without its two frames (880
		// bytes): this goroutine waits at the bottom of this path while
		// the command runs, and with them its stack grew from 8 to 16 KiB
		// (at 1,000 hosts, 8 MiB more; see bench/README.md, issue 17).
		args.Options.Stdin = runargs.FirstStdin(args.Options.Stdin)
		return h.Conn.Run(ctx, cmd, args.Options)
	}
	err := runargs.Retry(ctx, args, h.Log, "command", func(opts connector.Options) error {
		var err error
		res, err = h.Conn.Run(ctx, cmd, opts)
		return err
	})
	return res, err
}
