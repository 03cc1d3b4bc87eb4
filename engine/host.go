package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/inventory"
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

// Args resolves the global arguments (connector.GlobalArgs) for one
// command on h. Layers are given highest first — typically the call's own
// keywords, then the enclosing deploy's. Below them come the host's data
// (host, group and --data values; keys only at their declared default do
// not count), then the run's Config.Args (CLI flags), then the defaults.
// Keys of the layers that are not global arguments are ignored, except
// unknown ones starting with "_", which are an error. The result is
// type-checked: a wrong type is an error naming the host and the key.
func (h *Host) Args(layers ...map[string]any) (connector.Data, error) {
	for _, l := range layers {
		for k := range l {
			if strings.HasPrefix(k, "_") && !connector.IsGlobalArg(k) {
				return nil, fmt.Errorf("host %s: unknown global argument %s", h.Name, k)
			}
		}
	}
	d := connector.Data{}
	for _, key := range connector.GlobalArgs {
		k := key.Name
		if v, ok := h.lookupArg(k, layers); ok {
			d[k] = v
		}
	}
	if err := d.Check(h.Name, connector.GlobalArgs); err != nil {
		return nil, err
	}
	return d, nil
}

func (h *Host) lookupArg(k string, layers []map[string]any) (any, bool) {
	for _, l := range layers {
		if v, ok := l[k]; ok && v != nil {
			return v, true
		}
	}
	if h.Host != nil {
		if v, ok := h.Data[k]; ok && v != nil && h.Source(k) != "default" {
			return v, true
		}
	}
	if h.run != nil {
		if v, ok := h.run.cfg.Args[k]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// Options resolves the global arguments like Args and turns them into
// command options for h's connector.
func (h *Host) Options(layers ...map[string]any) (connector.Options, error) {
	d, err := h.Args(layers...)
	if err != nil {
		return connector.Options{}, err
	}
	o, err := connector.OptionsFromData(d)
	if err != nil {
		return o, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if v, ok := d["_stdin"]; ok && v != nil {
		r, err := stdinReader(v)
		if err != nil {
			return o, fmt.Errorf("host %s: _stdin: %w", h.Name, err)
		}
		o.Stdin = r
	}
	return o, nil
}

// stdinReader turns a _stdin value into a reader: text, lines (joined
// with newlines, as pyinfra does) or a reader.
func stdinReader(v any) (io.Reader, error) {
	switch x := v.(type) {
	case string:
		return strings.NewReader(x), nil
	case []byte:
		return strings.NewReader(string(x)), nil
	case io.Reader:
		return x, nil
	case []string:
		return strings.NewReader(strings.Join(x, "\n") + "\n"), nil
	case []any:
		lines := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("expected a string or a list of strings, given a list holding %s", connector.TypeName(e))
			}
			lines[i] = s
		}
		return strings.NewReader(strings.Join(lines, "\n") + "\n"), nil
	}
	return nil, fmt.Errorf("expected a string or a list of strings, given %s", connector.TypeName(v))
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
	e.once.Do(func() { e.value, e.err = fill() })
	return e.value, e.err
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

// Run runs cmd on h's connection with opts, retrying a failed command as
// the global arguments in args say (_retries times, _retry_delay apart;
// args as returned by Args, nil for no retries). A cancelled ctx is never
// retried. The result and error are the last attempt's.
func (h *Host) Run(ctx context.Context, cmd command.Command, opts connector.Options, args connector.Data) (connector.Result, error) {
	if h.Conn == nil {
		return connector.Result{ExitCode: -1}, connector.Errorf(h.Name, connector.ErrNotConnected, "cannot run a command")
	}
	retries := args.Int("_retries")
	delay := args.Duration("_retry_delay")
	for attempt := 0; ; attempt++ {
		if s, ok := opts.Stdin.(io.Seeker); ok && attempt > 0 {
			// Each attempt gets the whole input again.
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return connector.Result{ExitCode: -1}, fmt.Errorf("%s: _stdin: %w", h.Name, err)
			}
		}
		res, err := h.Conn.Run(ctx, cmd, opts)
		if err == nil || attempt >= retries || ctx.Err() != nil {
			return res, err
		}
		h.Log.Info(fmt.Sprintf("command failed, retrying (%d of %d) in %s", attempt+1, retries, delay), "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, err
		case <-t.C:
		}
	}
}
