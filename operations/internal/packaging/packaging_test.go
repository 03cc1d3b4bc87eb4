package packaging

import (
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/operations"
)

func describe(steps []operations.Step) string {
	var l []string
	for _, s := range steps {
		l = append(l, s.Describe())
	}
	return strings.Join(l, "; ")
}

func TestSpecs(t *testing.T) {
	got, err := Specs([]any{"vim", "kernel=6.1-1", "a=b=c"}, "=")
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{{"vim", ""}, {"kernel", "6.1-1"}, {"a=b", "c"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []any{"-rf", "=1.0", "two words", 3} {
		if _, err := Specs(bad, "="); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestEnsure covers what pyinfra's fixtures leave out: removing a name
// any of whose providers is installed, a pinned version that differs,
// latest, and names the shell must not read.
func TestEnsure(t *testing.T) {
	provides := func(name string) ([]Provider, error) {
		if name == "kernel" {
			return []Provider{{"kernel", "6.1"}, {"kernel-core", "6.1"}}, nil
		}
		return nil, nil
	}
	e := Ensure{
		Installed: map[string][]string{"kernel-core": {"6.1"}, "jq": {"1.6"}, "curl": {"8.0"}},
		Install:   command.Args("dnf", "install", "-y"),
		Uninstall: command.Args("dnf", "remove", "-y"),
		Upgrade:   command.Args("dnf", "update", "-y"),
		Sep:       "=",
		Provides:  provides,
	}
	cases := []struct {
		present, latest bool
		specs           []Spec
		want            string
	}{
		{true, false, []Spec{{"kernel", ""}, {"jq", "1.6"}, {"curl", "9.0"}}, "dnf install -y kernel curl=9.0"},
		{false, false, []Spec{{"kernel", ""}, {"jq", "1.5"}, {"wget", ""}}, "dnf remove -y kernel"},
		{true, true, []Spec{{"jq", ""}, {"curl", "8.0"}}, "dnf update -y jq"},
		{true, false, []Spec{{"it's", ""}}, `dnf install -y 'it'"'"'s'`},
	}
	for _, c := range cases {
		e.Present, e.Latest = c.present, c.latest
		steps, err := e.Steps(c.specs)
		if err != nil {
			t.Fatal(err)
		}
		if got := describe(steps); got != c.want {
			t.Errorf("present=%v latest=%v %v: %q, want %q", c.present, c.latest, c.specs, got, c.want)
		}
	}
}

func TestTruthy(t *testing.T) {
	for v, want := range map[any]bool{nil: false, "": false, "false": true, 0: false, 1: true, true: true, false: false} {
		if Truthy(v) != want {
			t.Errorf("Truthy(%#v) = %v", v, !want)
		}
	}
}
