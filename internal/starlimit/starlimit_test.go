package starlimit

import (
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

func run(t *testing.T, src string) error {
	t.Helper()
	th := &starlark.Thread{Name: "test"}
	Apply(th)
	opts := &syntax.FileOptions{While: true, TopLevelControl: true, GlobalReassign: true}
	_, err := starlark.ExecFileOptions(opts, th, "bomb.star", src, nil)
	return err
}

func TestEndlessLoopStops(t *testing.T) {
	t.Setenv(EnvMaxSteps, "100000")
	err := run(t, "x = 1\nwhile True:\n    x += 1\n")
	var ee *starlark.EvalError
	if !errors.As(err, &ee) || !strings.Contains(ee.Msg, "too many steps (more than 100000") || !strings.Contains(ee.Msg, EnvMaxSteps) {
		t.Fatalf("error %v", err)
	}
	// The position is the instruction the limit was reached at: some
	// line of the file.
	if pos := ee.CallStack.At(0).Pos; pos.Filename() != "bomb.star" {
		t.Errorf("position %s, want one in bomb.star", pos)
	}
}

func TestLimit(t *testing.T) {
	// A list built in a comprehension costs steps per element.
	t.Setenv(EnvMaxSteps, "100000")
	if err := run(t, "x = [i for i in range(1000)]\n"); err != nil {
		t.Errorf("a small program failed: %v", err)
	}
	if err := run(t, "x = [i for i in range(1000000)]\n"); err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("a million elements: %v", err)
	}
	t.Setenv(EnvMaxSteps, "not a number")
	if MaxSteps() != DefaultMaxSteps {
		t.Errorf("MaxSteps %d with a bad variable", MaxSteps())
	}
	t.Setenv(EnvMaxSteps, "")
	if MaxSteps() != DefaultMaxSteps {
		t.Errorf("MaxSteps %d by default", MaxSteps())
	}
}
