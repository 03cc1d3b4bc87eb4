// Package testenv decides what a test does when a component it needs is
// absent: skip with the reason on a developer machine, fail under CI=true.
package testenv

import (
	"os"
	"testing"
)

// CI reports whether the tests run under CI (CI=true), where nothing may skip.
func CI() bool { return os.Getenv("CI") == "true" }

// Skip skips t with the reason, or fails it under CI=true.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("required under CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}
