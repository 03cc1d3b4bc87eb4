package inventory

import (
	"path"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
)

// checkLimit rejects malformed --limit patterns.
func (l *loader) checkLimit() error {
	for _, p := range l.opts.Limit {
		if strings.TrimSpace(p) == "" {
			return invalidf(nil, "--limit: empty pattern")
		}
		if _, err := path.Match(p, ""); err != nil {
			return invalidf(err, "--limit %q: bad glob pattern", p)
		}
	}
	return nil
}

// skipped reports whether --limit rules out every host an inventory-only
// entry could make, so that its connector need not run (pyinfra #1024).
// A limit pattern decides this in advance when it is the entry's group, its
// kind's group or matches its target string (then the entry runs), or when
// it is a group or host name declared elsewhere in the inventory (then it
// does not select this entry). Any other pattern may match a host the
// connector makes, so the connector runs. Groups a connector would add its
// hosts to by itself are not foreseen: a declared group selects the
// entries declared in it.
func (l *loader) skipped(e *entry, declared map[string]bool) bool {
	if len(l.opts.Limit) == 0 || connector.Executes(e.drv) {
		return false
	}
	for _, p := range l.opts.Limit {
		if p == "@"+e.kind || e.inGroup(p) || globMatch(p, e.target) {
			return false
		}
		if !declared[p] {
			return false
		}
	}
	return true
}

func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// selected reports whether --limit keeps the host: a pattern names one of
// its groups, or matches its name or a target string that made it.
func (h *hostBuild) selected(limit []string) bool {
	if len(limit) == 0 {
		return true
	}
	for _, p := range limit {
		if globMatch(p, h.name) {
			return true
		}
		for _, t := range h.targets {
			if globMatch(p, t) {
				return true
			}
		}
		for _, g := range h.groups {
			if g == p {
				return true
			}
		}
	}
	return false
}
