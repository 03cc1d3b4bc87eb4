package facts

import (
	"context"

	"github.com/goinfra-dev/goinfra/connector"
)

// Source answers facts by name. A Host is one; so is an operation's host
// (operations.Host), which gathers as the operation's user, and a test's
// fake that answers from a map. Typed facts' Get asks a Source.
type Source interface {
	Fact(ctx context.Context, name string, args Args) (any, error)
}

// Cache keeps values for one host during a run: Memo computes the value
// of key once (concurrent callers wait for that call) and keeps it, errors
// included; Forget drops the keys that start with prefix. *engine.Host is
// one.
type Cache interface {
	Memo(key string, fill func() (any, error)) (any, error)
	Forget(prefix string)
}

// Host gathers facts on one connection as one user, each at most once per
// Cache: later calls with the same name and arguments return the first
// answer. After an operation changed the host, drop stale answers with
// Cache.Forget("fact:").
type Host struct {
	// Name is the host's name, for errors.
	Name string
	// Conn is the host's connection; nil when it is not connected.
	Conn connector.Conn
	// Opts are the command options facts run with (sudo, ...).
	Opts connector.Options
	// Cache keeps the answers; nil gathers on every call.
	Cache Cache
}

// Fact gathers the fact name with args on h (Host is a Source).
func (h Host) Fact(ctx context.Context, name string, args Args) (any, error) {
	if h.Conn == nil {
		return nil, connector.Errorf(h.Name, connector.ErrNotConnected, "fact %s", name)
	}
	if h.Cache == nil {
		return Get(ctx, h.Conn, name, args, h.Opts)
	}
	key := Key(name, args, h.Opts)
	v, err := h.Cache.Memo(key, func() (any, error) {
		return gather(ctx, h.Conn, name, args, h.Opts, h.used(ctx))
	})
	if err != nil && ctx.Err() != nil {
		// An interrupted gathering is no answer: do not keep it.
		h.Cache.Forget(key)
	}
	return v, err
}

// usedPrefix starts the cache keys of the facts others Use: they describe
// the host's tools, which an operation does not change, so they outlive
// Forget("fact:").
const usedPrefix = "uses:"

// used gathers a fact another one Uses, at most once per Cache.
func (h Host) used(ctx context.Context) func(string) (any, error) {
	return func(name string) (any, error) {
		key := usedPrefix + Key(name, nil, h.Opts)
		v, err := h.Cache.Memo(key, func() (any, error) {
			return gather(ctx, h.Conn, name, nil, h.Opts, h.used(ctx))
		})
		if err != nil && ctx.Err() != nil {
			h.Cache.Forget(key)
		}
		return v, err
	}
}
