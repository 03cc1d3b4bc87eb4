package files_test

import (
	"context"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/operations"
)

// Arguments that cannot work are planning errors naming the argument,
// before anything is read from the host.
func TestNewOpsBadArguments(t *testing.T) {
	for _, c := range []struct {
		op   string
		args map[string]any
		want string
	}{
		{"files.block", map[string]any{"path": "/f"}, "content is needed"},
		{"files.block", map[string]any{"path": "/f", "content": ""}, "content is needed"},
		{"files.block", map[string]any{"path": "/f", "content": "x", "line": "a", "before": true, "after": true}, "line: give one of"},
		{"files.block", map[string]any{"path": "/f", "content": "x", "after": true}, "need line="},
		{"files.block", map[string]any{"path": "/f", "content": "x", "marker": "# fixed"}, "must differ"},
		{"files.block", map[string]any{"path": "/f", "content": "x", "line": "(", "after": true}, "line:"},
		{"files.replace", map[string]any{"path": "/f", "replace": "b"}, "text is needed"},
		{"files.replace", map[string]any{"path": "/f", "text": "a"}, "replace is needed"},
		{"files.replace", map[string]any{"path": "/f", "text": "a", "replace": "b", "flags": "gx"}, `flags: "x"`},
		{"files.replace", map[string]any{"path": "/f", "text": "(", "replace": "b"}, "text:"},
		{"files.download", map[string]any{"src": "http://x/f", "dest": "/f", "sha256sum": "abc"}, "sha256sum:"},
		{"files.download", map[string]any{"src": "http://x/f", "dest": "/f", "md5sum": strings.Repeat("g", 32)}, "md5sum:"},
		{"files.download", map[string]any{"src": "http://x/f", "dest": "/f", "mode": "abc"}, "mode:"},
		{"files.sync", map[string]any{"src": "/nonexistent-goinfra", "dest": "/d"}, "src: no such directory"},
		{"files.sync", map[string]any{"src": "/", "dest": "/d", "exclude": "[z-a]"}, "exclude: pattern"},
		{"files.rsync", map[string]any{"src": "/nonexistent-goinfra", "dest": "/d"}, "src:"},
	} {
		op, _ := operations.Lookup(c.op)
		args, err := operations.CheckArgs(op, c.args)
		if err == nil {
			_, err = op.Plan(context.Background(), exampleHost{}, args)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want %q", c.op, c.args, err, c.want)
		}
	}
}
