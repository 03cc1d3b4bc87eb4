package chroot

import (
	"context"
	"os"
	"path"
	"sort"
	"strings"
)

// TargetArg implements connector.TargetArger.
func (Driver) TargetArg() (string, bool) { return "directory", false }

// CompleteArg implements connector.ArgCompleter: the directories of this
// machine whose path begins with prefix, read as Expand reads it (from
// the root, however many slashes lead).
func (Driver) CompleteArg(_ context.Context, prefix string) []string {
	abs := "/" + strings.TrimLeft(prefix, "/")
	dir, base := path.Split(abs)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	typed := prefix[:len(prefix)-len(base)]
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		// A symlink to a directory is a directory here, as chroot takes it.
		if fi, err := os.Stat(path.Join(dir, name)); err == nil && fi.IsDir() {
			out = append(out, typed+name+"/")
		}
	}
	sort.Strings(out)
	return out
}
