//go:build unix

package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// manyLines prints 5000 numbered lines (about 50 KiB).
const manyLines = `i=0; while [ $i -lt 5000 ]; do echo "line $i"; i=$((i+1)); done`

func numberedLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// With --json the result keeps the beginning of the output, up to
// _max_output, and says that it is truncated; the run log warns.
func TestExecOutputTruncatedJSON(t *testing.T) {
	r := goinfra(t, nil, "", "--json", "--data", "_max_output=4KiB", "@local", "exec", "--", manyLines+"; echo done >&2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	stdout, _ := rec["stdout"].(string)
	stderr, _ := rec["stderr"].(string)
	lines := strings.Count(stdout, "\n") + 1
	cost := len(stdout) - (lines - 1) + lines*48
	// The two streams are read apart: on a busy machine stderr's "done"
	// can be read before the stdout line that fills the budget, and is
	// then kept within it; after that line nothing more is.
	if stderr != "" {
		cost += len(stderr) + 48
	}
	if rec["truncated"] != true || stdout == "" || !strings.HasPrefix(numberedLines(5000), stdout+"\n") ||
		cost > 4096 || (stderr != "" && stderr != "done") {
		t.Errorf("record: truncated %v, %d bytes of stdout in %d lines, stderr %q", rec["truncated"], len(stdout), lines, stderr)
	}
	if !strings.Contains(r.stderr, "[@local] warning: the command printed more than 4KiB") || !strings.Contains(r.stderr, "_max_output") {
		t.Errorf("no truncation warning: %q", r.stderr)
	}

	// Within the bound: everything, and no "truncated" field.
	r = goinfra(t, nil, "", "--json", "@local", "exec", "--", manyLines)
	rec = nil
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v: %q", r.code, err, r.stdout)
	}
	if _, ok := rec["truncated"]; ok || rec["stdout"] != strings.TrimSuffix(numberedLines(5000), "\n") || strings.Contains(r.stderr, "warning") {
		t.Errorf("untruncated record: truncated %v, %d bytes of stdout, log %q", rec["truncated"], len(rec["stdout"].(string)), r.stderr)
	}
}

// In text mode every line is printed as it comes, whatever _max_output:
// nothing is kept, so nothing is truncated. A line over 64 KiB is printed
// in pieces, which together are the whole line.
func TestExecOutputTextPrintsEverything(t *testing.T) {
	long := `s=x; i=0; while [ $i -lt 17 ]; do s=$s$s; i=$((i+1)); done; printf '%s\303\251%s\n' "${s#x}" "$s"`
	r := goinfra(t, nil, "", "--data", "_max_output=1KiB", "@local", "exec", "--", manyLines+"; "+long+"; echo done >&2")
	if r.code != 0 || strings.Contains(r.stderr, "warning") || r.stderr != "[@local] done\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	short := numberedLines(5000)
	var got strings.Builder
	pieces := 0
	for _, l := range strings.SplitAfter(r.stdout, "\n") {
		text, ok := strings.CutPrefix(l, "[@local] ")
		if !ok {
			if l != "" {
				t.Fatalf("line without the host prefix: %.80q", l)
			}
			continue
		}
		if got.Len() >= len(short) {
			// The pieces of the long line: printed as lines of their own.
			text = strings.TrimSuffix(text, "\n")
			pieces++
		}
		got.WriteString(text)
	}
	want := short + strings.Repeat("x", 1<<17-1) + "é" + strings.Repeat("x", 1<<17)
	if got.String() != want {
		t.Errorf("printed %d bytes, want %d", got.Len(), len(want))
	}
	if pieces < 4 {
		t.Errorf("the long line came in %d pieces, want at least 4", pieces)
	}
}

// --json holds a long line whole again: the pieces it was recorded in are
// joined without a separator, and a character cut between them is not
// damaged.
func TestExecJSONLongLine(t *testing.T) {
	long := `s=x; i=0; while [ $i -lt 17 ]; do s=$s$s; i=$((i+1)); done; printf '%s\303\251%s' "${s#x}" "$s"`
	r := goinfra(t, nil, "", "--json", "@local", "exec", "--", long)
	var rec struct {
		Stdout    string `json:"stdout"`
		Truncated bool   `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v", r.code, err)
	}
	if want := strings.Repeat("x", 1<<17-1) + "é" + strings.Repeat("x", 1<<17); rec.Stdout != want || rec.Truncated {
		t.Errorf("stdout of %d bytes (want %d), truncated %v", len(rec.Stdout), len(want), rec.Truncated)
	}
}

// A _max_output that is no size fails the host with a message naming it.
func TestExecOutputBadMaxOutput(t *testing.T) {
	r := goinfra(t, nil, "", "--data", "_max_output=lots", "@local", "exec", "--", "echo hi")
	if r.code == 0 || !strings.Contains(r.stderr, "_max_output") || strings.Contains(r.stdout, "hi") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
