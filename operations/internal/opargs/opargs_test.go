package opargs

import (
	"slices"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
)

func TestReaders(t *testing.T) {
	args := connector.Data{"b": true, "s": "x", "l": []any{"a", "b"}, "one": "a", "n": 3}
	if b, err := Bool(args, "b"); err != nil || b == nil || !*b {
		t.Errorf("Bool(b) = %v, %v", b, err)
	}
	if b, err := Bool(args, "missing"); err != nil || b != nil {
		t.Errorf("Bool(missing) = %v, %v; want nil, nil", b, err)
	}
	if s, err := String(args, "s"); err != nil || s != "x" {
		t.Errorf("String(s) = %q, %v", s, err)
	}
	if s, err := String(args, "missing"); err != nil || s != "" {
		t.Errorf("String(missing) = %q, %v", s, err)
	}
	if l, err := Strings(args, "l"); err != nil || !slices.Equal(l, []string{"a", "b"}) {
		t.Errorf("Strings(l) = %q, %v", l, err)
	}
	if l, err := Strings(args, "one"); err != nil || !slices.Equal(l, []string{"a"}) {
		t.Errorf("Strings(one) = %q, %v", l, err)
	}
	if l, err := Strings(args, "missing"); err != nil || l != nil {
		t.Errorf("Strings(missing) = %q, %v", l, err)
	}
	// Wrong types name the argument and what was given.
	for name, err := range map[string]error{
		"n": func() error { _, err := Bool(args, "n"); return err }(),
		"b": func() error { _, err := String(args, "b"); return err }(),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), name+": expected") {
			t.Errorf("%s: error %v, want one naming the argument", name, err)
		}
	}
	if _, err := Strings(args, "n"); err == nil || !strings.Contains(err.Error(), "n: expected a list of strings") {
		t.Errorf("Strings(n): %v", err)
	}
}
