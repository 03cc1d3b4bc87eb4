package ssh

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TargetArg implements connector.TargetArger.
func (Driver) TargetArg() (string, bool) { return "host", false }

// CompleteArg implements connector.ArgCompleter: the host aliases of the
// user's ~/.ssh/config (and the files it Includes) that begin with
// prefix; patterns (*, ?, !) are not hosts.
func (Driver) CompleteArg(_ context.Context, prefix string) []string {
	seen := map[string]bool{}
	readHostAliases(filepath.Join(homeDir(), ".ssh", "config"), prefix, seen, 0)
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func readHostAliases(file, prefix string, seen map[string]bool, depth int) {
	// Include loops are cut where OpenSSH cuts them.
	if depth > 16 {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		// "Keyword args" or "Keyword=args".
		i := strings.IndexAny(line, " \t=")
		if i < 0 {
			continue
		}
		key, words := line[:i], strings.Fields(strings.TrimLeft(line[i:], " \t="))
		switch strings.ToLower(key) {
		case "host":
			for _, w := range words {
				if !strings.ContainsAny(w, "*?!") && strings.HasPrefix(w, prefix) {
					seen[w] = true
				}
			}
		case "include":
			for _, w := range words {
				w = expandHome(w)
				if !filepath.IsAbs(w) {
					w = filepath.Join(homeDir(), ".ssh", w)
				}
				matches, _ := filepath.Glob(w)
				for _, m := range matches {
					readHostAliases(m, prefix, seen, depth+1)
				}
			}
		}
	}
}
