// Package engine runs work on the hosts of an inventory: it opens and
// connects every host in parallel (with a bound), runs steps on all
// connected hosts in parallel, collects a result per host, drops hosts that
// failed from later steps, stops the run when too many hosts failed, and
// always disconnects — also when the context is cancelled (Ctrl-C).
//
// A run is a sequence of steps. Within one host the steps run strictly in
// order; each step runs on all active hosts at once. This is the shape a
// deploy needs (one operation = one step) as well as `goinfra exec` and
// `goinfra fact` (one step each).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/inventory"
)

// DefaultParallel bounds how many hosts are connected to and worked on at
// once when Config.Parallel is unset. Each host costs a connection and
// usually a process or two on this machine; 100 keeps a big run well
// inside common file-descriptor and process limits.
const DefaultParallel = 100

// CloseTimeout bounds how long disconnecting one host may take. It applies
// also after the run's context was cancelled, so that an interrupted run
// still finishes its hosts (stops containers, removes temporary files).
const CloseTimeout = 30 * time.Second

var (
	// ErrFailPercent: more hosts failed than Config.FailPercent allows; the
	// run must stop.
	ErrFailPercent = errors.New("too many hosts failed")
	// ErrNoHosts: every host has failed; there is nothing left to run on.
	ErrNoHosts = errors.New("no hosts remaining")
)

// Config controls a Run. The zero value is usable.
type Config struct {
	// Parallel is how many hosts are worked on at once; 0 means
	// DefaultParallel.
	Parallel int
	// FailPercent, when set, is the share of hosts (0-100) that may fail
	// before the run stops with ErrFailPercent. Unset, the run goes on
	// while any host is left (pyinfra's behaviour without --fail-percent).
	FailPercent *float64
	// Args are global arguments given for the whole run, e.g. by CLI
	// flags (--sudo is {"_sudo": true}). They are the lowest layer of
	// argument resolution: host data, the deploy and the call beat them.
	Args map[string]any
	// Log receives the run log; each host's messages carry a "host"
	// attribute. Nil discards.
	Log *slog.Logger
	// SudoPasswordPrompt, when set, is asked for the sudo password when
	// sudo needs one and none was given. Unset, such a host fails with a
	// message saying how to give the password.
	SudoPasswordPrompt PasswordPrompt
	// SudoPasswordPerHost asks once per host instead of once per run.
	SudoPasswordPerHost bool
}

// Percent returns a pointer to p, for Config.FailPercent.
func Percent(p float64) *float64 { return &p }

// Run is one run over an inventory's hosts.
type Run struct {
	cfg   Config
	log   *slog.Logger
	hosts []*Host

	mu      sync.Mutex
	closed  bool
	stopErr error // why the run stopped early, if it did

	// The sudo password policy every host's escalation layer shares.
	passwords *escalate.Asker
}

// New prepares a run over inv's hosts. Nothing is opened until Connect.
func New(inv *inventory.Inventory, cfg Config) *Run {
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Run{cfg: cfg, log: log, passwords: escalate.NewAsker(cfg.SudoPasswordPrompt, cfg.SudoPasswordPerHost)}
	if inv != nil {
		for _, ih := range inv.Hosts {
			r.hosts = append(r.hosts, &Host{
				Host: ih,
				Log:  log.With("host", ih.Name),
				run:  r,
			})
		}
	}
	return r
}

// Hosts returns every host of the run, in inventory order.
func (r *Run) Hosts() []*Host { return append([]*Host(nil), r.hosts...) }

// Active returns the hosts that have not failed, in inventory order.
func (r *Run) Active() []*Host {
	var out []*Host
	for _, h := range r.hosts {
		if h.Err() == nil {
			out = append(out, h)
		}
	}
	return out
}

// Failed returns the hosts that have failed, in inventory order.
func (r *Run) Failed() []*Host {
	var out []*Host
	for _, h := range r.hosts {
		if h.Err() != nil {
			out = append(out, h)
		}
	}
	return out
}

// StepFunc is the work of one step on one host. Its error fails the host,
// which then takes part in no later step.
type StepFunc func(ctx context.Context, h *Host) (any, error)

// Step is a unit of work run on all active hosts.
type Step struct {
	// Name is shown in the run log ("exec", an operation's name).
	Name string
	// Parallel bounds the hosts worked on at once in this step; 0 uses
	// the run's bound (pyinfra's _parallel).
	Parallel int
	// Serial runs the step one host at a time (pyinfra's _serial).
	Serial bool
	// RunOnce runs the step on the first active host only (_run_once).
	RunOnce bool
	// Do is the work.
	Do StepFunc
}

// Result is what a step (or connecting) gave on one host.
type Result struct {
	Host     *Host
	Value    any
	Err      error
	Duration time.Duration
}

// Results are a step's results, in inventory order.
type Results []Result

// OK reports whether every result succeeded.
func (rs Results) OK() bool {
	for _, r := range rs {
		if r.Err != nil {
			return false
		}
	}
	return true
}

// Get returns the result of the host called name.
func (rs Results) Get(name string) (Result, bool) {
	for _, r := range rs {
		if r.Host.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

// Connect opens and connects every host in parallel. Hosts that fail to
// connect are failed and dropped. The error is non-nil when the run must
// stop: ErrFailPercent, ErrNoHosts, or the context's error.
func (r *Run) Connect(ctx context.Context) (Results, error) {
	return r.Do(ctx, Step{Do: func(ctx context.Context, h *Host) (any, error) {
		return nil, h.connect(ctx)
	}})
}

// ConnectThen is Connect, with then run on each host as soon as it has
// connected, while other hosts still connect (a deploy plans meanwhile).
// The results and the error are connecting's, as Connect's are: then
// fails no host (its caller keeps what it found for a step of its own),
// and a result's Duration includes then's time.
func (r *Run) ConnectThen(ctx context.Context, then func(ctx context.Context, h *Host)) (Results, error) {
	failed := len(r.Failed())
	results, err := r.step(ctx, Step{Do: func(ctx context.Context, h *Host) (any, error) {
		if err := h.connect(ctx); err != nil {
			return nil, err
		}
		then(ctx, h)
		return nil, nil
	}})
	if err != nil || results == nil {
		return results, err
	}
	// Judged by the connect failures alone: then may have failed hosts
	// too (the escalation layer fails a host whose password was refused),
	// which is for the caller's step to judge, as after Connect.
	for _, res := range results {
		if res.Err != nil {
			failed++
		}
	}
	return results, r.judge(ctx, failed)
}

// Each runs fn on every active host in parallel; see Do.
func (r *Run) Each(ctx context.Context, fn StepFunc) (Results, error) {
	return r.Do(ctx, Step{Do: fn})
}

// Do runs the step on the active hosts and returns their results in
// inventory order. A host whose work returned an error is failed and left
// out of later steps. The error is non-nil when the run must stop: more
// hosts failed than Config.FailPercent allows (ErrFailPercent), none is
// left (ErrNoHosts), or ctx ended (its error).
func (r *Run) Do(ctx context.Context, s Step) (Results, error) {
	results, err := r.step(ctx, s)
	if err != nil || results == nil {
		return results, err
	}
	return results, r.judge(ctx, len(r.Failed()))
}

// judge decides, with failed hosts failed, whether the run may go on,
// and records why not.
func (r *Run) judge(ctx context.Context, failed int) error {
	err := ctx.Err()
	if err == nil {
		err = r.check(failed)
	}
	if err != nil {
		r.stopped(err)
	}
	return err
}

// step runs s on the active hosts and fails those whose work failed.
func (r *Run) step(ctx context.Context, s Step) (Results, error) {
	hosts := r.Active()
	if len(hosts) == 0 {
		if len(r.hosts) == 0 {
			return nil, nil
		}
		return nil, ErrNoHosts
	}
	if s.RunOnce {
		hosts = hosts[:1]
	}
	limit := r.cfg.Parallel
	if s.Parallel > 0 {
		limit = s.Parallel
	}
	if s.Serial {
		limit = 1
	}

	results := make(Results, len(hosts))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, h := range hosts {
		results[i].Host = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i] = r.runOne(ctx, h, s)
		}()
	}
	wg.Wait()

	for _, res := range results {
		if res.Err != nil {
			res.Host.fail(res.Err)
		}
	}
	return results, nil
}

// stopped records the first reason the run stopped early: hosts that did
// not fail themselves are finished with it, so that a connector does not
// keep the work of a run that did not complete (docker commits no image).
func (r *Run) stopped(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopErr == nil {
		r.stopErr = err
	}
}

// runOne runs the step on h, turning a panic into the host's error so that
// one bad host cannot take the run (and its clean-up) down.
func (r *Run) runOne(ctx context.Context, h *Host, s Step) (res Result) {
	res.Host = h
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil {
			res.Err = fmt.Errorf("%s: internal error: %v", h.Name, p)
		}
	}()
	if s.Name != "" {
		h.Log.Debug("starting " + s.Name)
	}
	res.Value, res.Err = s.Do(ctx, h)
	if res.Err != nil && s.Name != "" {
		h.Log.Debug(s.Name+" failed", "error", res.Err)
	}
	return res
}

// check decides whether the run may go on after a step.
func (r *Run) check(failed int) error {
	if failed == 0 {
		return nil
	}
	total := len(r.hosts)
	if p := r.cfg.FailPercent; p != nil {
		percent := float64(failed) * 100 / float64(total)
		if percent > *p {
			return fmt.Errorf("%w: %d of %d hosts (%.0f%%, more than --fail-percent %g)",
				ErrFailPercent, failed, total, percent, *p)
		}
	}
	if failed == total {
		return ErrNoHosts
	}
	return nil
}

// Close disconnects every opened host, in parallel: a host that connected
// is first finished (connector.Finisher) with its run error, then closed.
// A host that did not fail is finished with nil, unless the run stopped
// early (too many failures, ctx cancelled before or during Close's call):
// then with that reason.
// It runs even when ctx is already cancelled (each host gets CloseTimeout)
// and may be called more than once; only the first call does anything.
// The error joins the hosts' disconnect errors.
func (r *Run) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.stopErr == nil && ctx.Err() != nil {
		r.stopErr = ctx.Err()
	}
	stopErr := r.stopErr
	r.mu.Unlock()

	ctx = context.WithoutCancel(ctx)
	errs := make([]error, len(r.hosts))
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for i, h := range r.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, CloseTimeout)
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("%s: internal error while disconnecting: %v", h.Name, p)
				}
			}()
			errs[i] = h.close(cctx, stopErr)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
