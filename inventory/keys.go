package inventory

import (
	"fmt"
	"sort"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/runargs"
)

// Data keys a user gives are checked by name, so that a typo does not pass
// silently and the run does something other than what was meant:
//
//   - a key starting with "_" is in the global arguments' namespace: one
//     that is no global argument (_sudoo, _timout) is an error;
//   - a key starting with a connector's prefix ("ssh_", "docker_", ...,
//     taken from the registered kinds' data keys) that no kind declares
//     (ssh_usr, ssh_prot) is a warning: a connector of a kind not linked
//     in may read it;
//   - any other key is user data, free-form, as in pyinfra.
//
// Data a connector generated is not checked: the user cannot fix it.

// keyNames are the data keys the registered kinds declare.
type keyNames struct {
	known    map[string]bool
	prefixes map[string]bool // "ssh_", "docker_", ...
	all      []string        // sorted, for suggestions
	global   []string
}

func registeredKeys() *keyNames {
	n := &keyNames{known: map[string]bool{}, prefixes: map[string]bool{}}
	for _, kind := range connector.Kinds() {
		d, ok := connector.Lookup(kind)
		if !ok {
			continue
		}
		for _, k := range d.DataKeys() {
			if n.known[k.Name] {
				continue
			}
			n.known[k.Name] = true
			n.all = append(n.all, k.Name)
			if i := strings.IndexByte(k.Name, '_'); i > 0 {
				n.prefixes[k.Name[:i+1]] = true
			}
		}
	}
	sort.Strings(n.all)
	n.global = globalNames()
	return n
}

// connectorPrefix reports whether key starts with a connector's prefix.
func (n *keyNames) connectorPrefix(key string) bool {
	i := strings.IndexByte(key, '_')
	return i > 0 && n.prefixes[key[:i+1]]
}

// unknownGlobal is the message for a "_" key that is no global argument.
func (n *keyNames) unknownGlobal(key string) string {
	if s := suggest.Nearest(key, n.global); s != "" {
		return fmt.Sprintf("unknown global argument %s (did you mean %s?)", key, s)
	}
	return fmt.Sprintf("unknown global argument %s (names starting with _ are global arguments; `goinfra connectors` lists them)", key)
}

// unknownKey is the warning for a key with a connector prefix that no
// registered kind declares.
func (n *keyNames) unknownKey(key string) string {
	msg := fmt.Sprintf("unknown key %s is ignored: no connector reads it", key)
	if s := suggest.Nearest(key, n.all); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return msg
}

// checkKeys checks the keys of a host's layered data (src names each
// key's layer) and records warnings; the first unknown global argument is
// the error.
func (l *loader) checkKeys(hb *hostBuild, d connector.Data, src map[string]string) error {
	if l.keys == nil {
		l.keys = registeredKeys()
	}
	// Sorted, so that the same input always reports the same key first.
	for _, k := range sortedKeys(d) {
		from := src[k]
		if strings.HasPrefix(from, "connector ") {
			continue
		}
		switch {
		case strings.HasPrefix(k, "_"):
			if runargs.IsKey(k) {
				continue
			}
			return invalidf(nil, "%s%s", l.keyWhere(hb, k, from), l.keys.unknownGlobal(k))
		case l.keys.known[k] || !l.keys.connectorPrefix(k):
			continue
		default:
			l.warn(l.keyWhere(hb, k, from) + l.keys.unknownKey(k))
		}
	}
	return nil
}

// keyWhere says where the user gave key, ending in ": ".
func (l *loader) keyWhere(hb *hostBuild, key, from string) string {
	switch {
	case from == "--data":
		return "--data " + key + ": "
	case from == "host":
		return hb.userWhere[key] + "host " + hb.name + ": "
	case from == "all" || strings.HasPrefix(from, "group "):
		g := strings.TrimPrefix(from, "group ")
		if w := l.groupWhere[g][key]; w != "" && w != l.inlineWhere[g] {
			return w // the group data file
		}
		return l.location(hb, key, from) + "group " + g + ": "
	}
	return "host " + hb.name + ": "
}

// location is the file (and line) where the user gave key, ending in
// ": ", or "" (--data, target strings).
func (l *loader) location(hb *hostBuild, key, from string) string {
	switch {
	case from == "host":
		return hb.userWhere[key]
	case from == "all" || strings.HasPrefix(from, "group "):
		return l.groupWhere[strings.TrimPrefix(from, "group ")][key]
	}
	return ""
}

// warn records a warning once.
func (l *loader) warn(msg string) {
	for _, w := range l.warnings {
		if w == msg {
			return
		}
	}
	l.warnings = append(l.warnings, msg)
}
