// Package inventory turns what a user names (target strings, inventory
// files, group data) into hosts: each with its groups, its layered data and
// the connector kind that runs it. It knows no concrete connector: target
// strings are expanded through the connector registry.
//
// An inventory file is Starlark (with top-level if/for/while, sets and
// reassigned globals allowed). Every public top-level list is a group:
//
//	web = [
//	    "web1.example.com",
//	    ("web2.example.com", {"ssh_port": 2222}),
//	    "@docker/alpine:3.19",
//	]
//	db = (["db1.example.com"], {"ssh_user": "postgres"})  # group data
//	_spare = ["not a group"]                                # private
//
// Beside it, group_data/<group>.star and group_data/all.star hold group
// data: their top-level variables (names starting with "_" are private,
// except global arguments such as _sudo). Files may load() other files,
// relative to themselves, and read the environment with getenv(name,
// default); json.encode/json.decode are predeclared.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
)

// ErrInvalid is matched (errors.Is) by every error Load returns for bad
// input: unknown kind, bad target, wrong data type, inventory file syntax,
// a failed inventory connector. The CLI exits 2 on it.
var ErrInvalid = errors.New("invalid inventory")

// Host is one target after expansion.
type Host struct {
	// Name is the host's name as shown to users ("web1", "@local", "@docker/alpine").
	Name string
	// Kind is the registered connector kind that executes this host.
	Kind string
	// Groups the host belongs to, in the order they were joined. Later
	// groups' data wins over earlier groups'.
	Groups []string
	// Data is the host's resolved data: every layer merged (first hit wins:
	// Options.Data > host data (user over connector-generated) > group data
	// (later group wins) > "all" data > declared defaults), type-checked
	// against the kind's DataKeys and runargs.Keys.
	Data connector.Data

	// sources records which layer each key of Data came from; a key of
	// Data missing here holds its declared default (see Source).
	sources map[string]string
}

// ConnectorHost returns what the host's connector is opened with.
func (h *Host) ConnectorHost() *connector.Host {
	return &connector.Host{Name: h.Name, Groups: h.Groups, Data: h.Data}
}

// InGroup reports whether the host belongs to group.
func (h *Host) InGroup(group string) bool {
	for _, g := range h.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Source names the layer key's value came from: "--data", "host",
// "connector", "group <name>", "all" or "default"; "" when key is unset.
func (h *Host) Source(key string) string {
	if s, ok := h.sources[key]; ok {
		return s
	}
	if _, ok := h.Data[key]; ok {
		return "default"
	}
	return ""
}

// Inventory is the set of hosts of a run.
type Inventory struct {
	Hosts []*Host
	// Groups maps each group name to its hosts' names, in inventory order.
	Groups map[string][]string
	// Warnings are problems that did not stop the load, one line each:
	// data keys with a connector's prefix ("ssh_usr") that no registered
	// kind reads, private group data variables named like a global
	// argument. A key starting with "_" that is no global argument is an
	// error instead.
	Warnings []string
}

// Get returns the host called name, or nil.
func (inv *Inventory) Get(name string) *Host {
	if inv == nil {
		return nil
	}
	for _, h := range inv.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Options controls Load.
type Options struct {
	// Data overrides every other layer (--data k=v, --ssh-user, ...).
	Data map[string]any
	// Limit keeps only hosts in one of these groups or whose name, or the
	// target string that made them, matches one of these globs (path.Match
	// syntax). Empty keeps all. Inventory connectors are not run for
	// targets that a limit rules out in advance (see Load).
	Limit []string
	// GroupData are more directories of group data files (<dir>/<group>.star,
	// pyinfra's --group-data), read after group_data/; later ones win.
	GroupData []string
	// BaseDir is where group_data/ is looked for when the inventory is
	// given as target strings (default "."); for an inventory file it is
	// the file's directory.
	BaseDir string
	// DefaultKind is the kind of target strings that do not start with
	// "@", and of the names inventory-only kinds yield (default
	// connector.DefaultKind, "ssh").
	DefaultKind string
	// Lookup finds a connector kind by name (nil: connector.Lookup). A
	// program may find kinds lazily: the CLI registers external connector
	// programs only when a kind is not built in.
	Lookup func(kind string) (connector.Driver, bool)
	// Shard keeps only the hosts of one shard of the inventory (after
	// Limit): see Shard. When the shard holds none of the hosts Limit
	// selected, Load returns an inventory without hosts, not an error.
	Shard Shard
}

// Shard is one of N parts of an inventory, K from 1 to N (the zero value
// keeps every host). A host's shard follows from its name alone (FNV-1a
// modulo N), so shards are disjoint, cover the inventory, and a host keeps
// its shard when others are added: N controllers (a Kubernetes Indexed
// Job, a CI matrix) each run one shard of the same inventory.
type Shard struct{ K, N int }

// ParseShard reads "K/N" (1 ≤ K ≤ N).
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 ≤ K ≤ N, e.g. 2/5", s)
	}
	return Shard{K: ki, N: ni}, nil
}

// Has reports whether the host named name is in the shard.
func (s Shard) Has(name string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.N)) == s.K-1
}

// Load builds an inventory from spec: a path to a Starlark inventory file
// (*.star, or any existing file), or a comma-separated list of target
// strings.
//
// Target strings are "name" (kind DefaultKind) or "@kind" / "@kind/arg",
// expanded by the kind's Driver. Each host joins the group "@kind" (the
// default kind adds none) and the groups its Target lists. An inventory-only
// kind (no connector.Opener) is run once per Load; each name it yields is a
// host of the default kind, unless it is a target string of an executing
// kind, which is then expanded by that kind (one level deep).
//
// Hosts in an inventory file join, in order, the group named after the
// file, their kind's groups and the file's groups that list them; later
// groups' data wins. Group data is read from group_data/<group>.star and
// group_data/all.star beside the file (in BaseDir for target strings).
//
// With a Limit, an inventory connector is not run when no pattern can
// select the hosts it would make: a pattern selects an inventory target if
// it is one of the target's groups or matches the target string; a pattern
// naming another group or host of the inventory does not; any other pattern
// (a glob, a name only a connector could make) lets the connector run.
//
// Every error it returns for bad input matches ErrInvalid and is one line
// naming the file and line, the target or the host and key at fault. When
// ctx ends first, the error matches ctx.Err() instead.
func Load(ctx context.Context, spec string, opts Options) (inv *Inventory, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			inv, err = nil, &stopped{err: err, cause: ctx.Err()}
		}
	}()
	if opts.DefaultKind == "" {
		opts.DefaultKind = connector.DefaultKind
	}
	l := &loader{ctx: ctx, opts: opts, expanded: map[string][]connector.Target{}}
	if path, ok := inventoryFile(spec); ok {
		err = l.loadFile(path)
	} else {
		if opts.BaseDir == "" {
			opts.BaseDir = "."
		}
		l.opts.BaseDir = opts.BaseDir
		err = l.loadTargets(spec)
	}
	if err != nil {
		return nil, err
	}
	return l.build()
}

// inventoryFile decides whether spec names an inventory file: an existing
// regular file, or a single name ending in .star (which then must exist).
func inventoryFile(spec string) (string, bool) {
	if fi, err := os.Stat(spec); err == nil && fi.Mode().IsRegular() {
		return spec, true
	}
	if strings.HasPrefix(spec, "@") || strings.Contains(spec, ",") {
		return "", false
	}
	// A host name never holds a slash: a missing path is reported as one.
	if strings.HasSuffix(spec, ".star") || strings.ContainsRune(spec, '/') || strings.ContainsRune(spec, filepath.Separator) {
		return spec, true
	}
	return "", false
}

// invalid is an error of bad input: it matches ErrInvalid and keeps its
// cause (a *connector.DataTypeError, *connector.UnknownKindError, ...) for
// errors.As, without prefixing the message.
type invalid struct {
	msg   string
	cause error
}

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Unwrap() error        { return e.cause }
func (e *invalid) Is(target error) bool { return target == ErrInvalid }

// stopped is a Load cut short by its context: not bad input.
type stopped struct {
	err   error
	cause error
}

func (e *stopped) Error() string { return e.err.Error() }
func (e *stopped) Unwrap() error { return e.cause }

func invalidf(cause error, format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...), cause: cause}
}
