// Package starlimit bounds the work of the Starlark programs goinfra runs
// (inventory files, deploy files), so that an endless loop or a runaway
// computation ends with an error naming the file and line instead of
// hanging the run or growing its memory without end.
//
// The bound is a number of Starlark execution steps (go.starlark.net's
// Thread.SetMaxExecutionSteps), per thread: per inventory file and per
// deploy program and host. A step costs some tens of nanoseconds, and a
// program builds at most a few elements per step, so the step bound also
// bounds the size of the values built step by step (a list grown in a
// loop or comprehension). A single operation that allocates a large value
// at once is bounded by go.starlark.net itself (at most 2^30 elements in
// a repeat such as "x" * n).
package starlimit

import (
	"fmt"
	"os"
	"strconv"

	"go.starlark.net/starlark"
)

// DefaultMaxSteps is about two seconds of Starlark work, enough for an
// inventory that computes hundreds of thousands of hosts; the largest
// list a program can build within it has a few million elements.
const DefaultMaxSteps = 50_000_000

// EnvMaxSteps names the environment variable that sets another limit (a
// positive integer).
const EnvMaxSteps = "GOINFRA_STARLARK_MAX_STEPS"

// MaxSteps is the limit in force: EnvMaxSteps when it holds a positive
// integer, else DefaultMaxSteps.
func MaxSteps() uint64 {
	if v := os.Getenv(EnvMaxSteps); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return DefaultMaxSteps
}

// Apply sets the step limit on thread. A program that reaches it fails
// with an *starlark.EvalError (whose position is where it was) saying
// "too many steps" and how to raise the limit.
func Apply(thread *starlark.Thread) {
	limit := MaxSteps()
	thread.SetMaxExecutionSteps(limit)
	thread.OnMaxSteps = func(th *starlark.Thread) {
		th.Cancel(fmt.Sprintf("too many steps (more than %d: an endless loop or a computation too large; %s=N sets the limit)", limit, EnvMaxSteps))
	}
}
