package connector

import (
	"fmt"
	"sort"
	"sync"
)

// DefaultKind is the kind of a target string that does not start with "@".
const DefaultKind = "ssh"

var (
	registryMu sync.RWMutex
	registry   = map[string]Driver{}
)

// Register makes a connector kind available under name, so that "@name/arg"
// works in every inventory. It is meant to be called from an init function;
// it panics if name is empty, already registered, or d is nil, as
// database/sql's Register does.
func Register(name string, d Driver) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if d == nil {
		panic("connector: Register driver is nil")
	}
	if !validName(name) {
		panic(fmt.Sprintf("connector: invalid kind name %q", name))
	}
	if _, dup := registry[name]; dup {
		panic("connector: Register called twice for kind " + name)
	}
	registry[name] = d
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' ||
			r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Lookup returns the kind registered under name.
func Lookup(name string) (Driver, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	d, ok := registry[name]
	return d, ok
}

// Kinds lists the registered kind names, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Executes reports whether d runs commands (implements Opener).
func Executes(d Driver) bool {
	_, ok := d.(Opener)
	return ok
}

// UnknownKindError is a target string naming a kind nobody registered.
type UnknownKindError struct {
	Kind  string
	Known []string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown connector kind %q (known kinds: %v)", e.Kind, e.Known)
}
