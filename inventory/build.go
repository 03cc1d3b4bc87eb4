package inventory

import (
	"errors"
	"sort"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/runargs"
)

// build expands the entries, applies --limit, layers and checks data.
func (l *loader) build() (*Inventory, error) {
	if err := l.checkLimit(); err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, e := range l.entries {
		declared[e.target] = true
		declared["@"+e.kind] = true
		if e.fileGroup != "" {
			declared[e.fileGroup] = true
		}
		for _, g := range e.groups {
			declared[g] = true
		}
	}
	l.byName = map[string]*hostBuild{}
	for _, e := range l.entries {
		if l.skipped(e, declared) {
			continue
		}
		if err := l.resolve(e); err != nil {
			return nil, err
		}
	}
	var kept []*hostBuild
	selected := 0
	for _, h := range l.hosts {
		if h.selected(l.opts.Limit) {
			selected++
			if l.opts.Shard.Has(h.name) {
				kept = append(kept, h)
			}
		}
	}
	if len(kept) == 0 && selected > 0 {
		// A shard may be empty (fewer hosts than shards): nothing to do.
		return &Inventory{Groups: map[string][]string{}}, nil
	}
	if len(kept) == 0 {
		if len(l.opts.Limit) > 0 {
			return nil, invalidf(nil, "--limit %s: no host matches (want a group name or a host name glob)", strings.Join(l.opts.Limit, ","))
		}
		var targets []string
		for _, e := range l.entries {
			targets = append(targets, e.target)
		}
		return nil, invalidf(nil, "%sno hosts: %s made none", l.fileWhere(), strings.Join(targets, ","))
	}

	groupData, err := l.groupData(kept)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{Groups: map[string][]string{}}
	for _, hb := range kept {
		h, err := l.finish(hb, groupData)
		if err != nil {
			return nil, err
		}
		inv.Hosts = append(inv.Hosts, h)
		for _, g := range h.Groups {
			inv.Groups[g] = append(inv.Groups[g], h.Name)
		}
	}
	inv.Warnings = l.warnings
	return inv, nil
}

func (l *loader) fileWhere() string {
	if l.file == "" {
		return ""
	}
	return l.file + ": "
}

// groupData returns the data of "all" and of every group a kept host is
// in: group data given in the inventory file, overlaid by
// group_data/<group>.star (as pyinfra does).
func (l *loader) groupData(hosts []*hostBuild) (map[string]map[string]any, error) {
	names := []string{"all"}
	seen := map[string]bool{"all": true}
	for _, h := range hosts {
		for _, g := range h.groups {
			if !seen[g] {
				seen[g] = true
				names = append(names, g)
			}
		}
	}
	out := make(map[string]map[string]any, len(names))
	l.groupWhere = map[string]map[string]string{}
	for _, g := range names {
		where := map[string]string{}
		for k := range l.inline[g] {
			where[k] = l.inlineWhere[g]
		}
		d := merge(nil, l.inline[g])
		for _, p := range l.groupDataPaths(g) {
			fd, err := l.loadGroupDataFile(g, p)
			if err != nil {
				return nil, err
			}
			for k := range fd {
				where[k] = p + ": "
			}
			d = merge(d, fd)
		}
		l.groupWhere[g] = where
		if len(d) > 0 {
			out[g] = d
		}
	}
	return out, nil
}

// finish layers a host's data (lowest first, so each layer overrides the
// one before: all, groups in order, connector, host, --data), then
// type-checks it and fills in defaults.
func (l *loader) finish(hb *hostBuild, groupData map[string]map[string]any) (*Host, error) {
	drv, _ := l.lookup(hb.kind)
	keys := drv.DataKeys()
	// Sized for what the maps can hold (every layer's keys, and the
	// defaults for d), so that they never grow while filled (growing was
	// most of the cost of loading a large inventory). Not for every
	// declared key: most are unset, and the maps are kept for the whole
	// run (sized per declared key they were 9.3 KB per host).
	given := len(groupData["all"]) + len(hb.gen) + len(hb.user) + len(l.opts.Data)
	for _, g := range hb.groups {
		given += len(groupData[g])
	}
	d := make(connector.Data, given+l.defaults(hb.kind, keys))
	src := make(map[string]string, given)
	put := func(m map[string]any, from func(string) string) {
		for k, v := range m {
			if v == nil {
				// None unsets the key: lower layers are hidden, defaults apply.
				delete(d, k)
				delete(src, k)
				continue
			}
			d[k] = clone(v)
			src[k] = from(k)
		}
	}
	label := func(s string) func(string) string { return func(string) string { return s } }
	put(groupData["all"], label("all"))
	for _, g := range hb.groups {
		put(groupData[g], label("group "+g))
	}
	put(hb.gen, func(k string) string { return hb.genFrom[k] })
	put(hb.user, label("host"))
	put(l.opts.Data, label("--data"))
	if err := l.checkKeys(hb, d, src); err != nil {
		return nil, err
	}

	for _, keys := range [][]connector.DataKey{keys, runargs.Keys} {
		if err := d.Check(hb.name, keys); err != nil {
			var te *connector.DataTypeError
			if errors.As(err, &te) && IsSecret(hb.kind, te.Key) {
				te.Secret = true
			}
			if te != nil && src[te.Key] != "" {
				return nil, invalidf(err, "%s%v (from %s)", l.location(hb, te.Key, src[te.Key]), err, src[te.Key])
			}
			return nil, invalidf(err, "%v", err)
		}
	}
	// Keys at their default are not in src: Source derives "default".
	return &Host{Name: hb.name, Kind: hb.kind, Groups: hb.groups, Data: d, sources: src}, nil
}

// defaults counts the keys of kind (keys) and runargs.Keys that have a
// default, once per kind.
func (l *loader) defaults(kind string, keys []connector.DataKey) int {
	if n, ok := l.defaultCount[kind]; ok {
		return n
	}
	n := 0
	for _, ks := range [][]connector.DataKey{keys, runargs.Keys} {
		for _, k := range ks {
			if k.Default != nil {
				n++
			}
		}
	}
	if l.defaultCount == nil {
		l.defaultCount = map[string]int{}
	}
	l.defaultCount[kind] = n
	return n
}

// clone copies lists and maps so hosts sharing group data never share
// mutable values.
func clone(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case []int:
		return append([]int(nil), x...)
	}
	return v
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
