package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/suggest"
)

// entry is one target as the user declared it, before expansion.
type entry struct {
	target string
	// data is the host data the user gave with the target.
	data map[string]any
	// fileGroup is the group named after the inventory file ("" for
	// target strings); groups are the file's groups the target is listed
	// in, in file order.
	fileGroup string
	groups    []string
	// where locates the declaration for messages ("inv.star:3: "), or "".
	where string

	kind string
	arg  string
	drv  connector.Driver
}

func (e *entry) inGroup(g string) bool {
	if g == e.fileGroup && g != "" {
		return true
	}
	for _, x := range e.groups {
		if x == g {
			return true
		}
	}
	return false
}

// hostBuild is a host being assembled from one or more entries.
type hostBuild struct {
	name   string
	kind   string
	origin string // the target string that made it first, for messages
	// targets are the target strings that made it: a --limit glob
	// matching one selects the host.
	targets []string
	groups  []string
	// gen is connector-generated data (genFrom names the kind that gave
	// each key), user is user-given host data.
	gen     map[string]any
	genFrom map[string]string
	user    map[string]any
	// userWhere locates the declaration of each user key ("inv.star:3: ").
	userWhere map[string]string
}

// lookup finds a connector kind through Options.Lookup.
func (l *loader) lookup(kind string) (connector.Driver, bool) {
	if l.opts.Lookup != nil {
		return l.opts.Lookup(kind)
	}
	return connector.Lookup(kind)
}

type loader struct {
	ctx  context.Context
	opts Options

	// dir holds group_data/; file is the inventory file ("" for target
	// strings), and fileGroup the group named after it.
	dir       string
	file      string
	fileGroup string

	entries  []*entry
	byTarget map[string]*entry
	// inline is group data given in the inventory file: (names, {data}).
	inline map[string]map[string]any

	// expanded caches Expand results per kind and argument, so every
	// inventory connector runs once per Load.
	expanded map[string][]connector.Target

	hosts  []*hostBuild
	byName map[string]*hostBuild

	// modules caches files loaded with load(); nil marks one being loaded.
	modules map[string]*loadedModule

	// keys are the registered data keys, for checking names (keys.go);
	// groupWhere locates each group data key: the group data file
	// ("group_data/web.star: ") or the inventory file's line of the group
	// ("inv.star:3: ", as inlineWhere holds for each group);
	// warnings are what Inventory.Warnings reports.
	keys        *keyNames
	inlineWhere map[string]string
	groupWhere  map[string]map[string]string
	warnings    []string

	// defaultCount is how many keys have a default, per kind (finish).
	defaultCount map[string]int
}

// addEntry records a declared target; a target listed again (another
// group of the same file) joins that group too and merges its data.
func (l *loader) addEntry(target string, data map[string]any, group, where string) error {
	target = strings.TrimSpace(target)
	if l.byTarget == nil {
		l.byTarget = map[string]*entry{}
	}
	if e, ok := l.byTarget[target]; ok {
		if group != "" && group != "all" && !e.inGroup(group) {
			e.groups = append(e.groups, group)
		}
		for k, v := range data {
			if e.data == nil {
				e.data = map[string]any{}
			}
			e.data[k] = v
		}
		return nil
	}
	e := &entry{target: target, data: data, fileGroup: l.fileGroup, where: where}
	// Everyone is in "all": its data is the "all" layer, not a group's.
	if group == "all" {
		group = ""
	}
	if group != "" && group != l.fileGroup {
		e.groups = []string{group}
	}
	kind, arg, drv, err := l.parseTarget(target)
	if err != nil {
		return invalidf(errors.Unwrap(err), "%s%v", where, err)
	}
	e.kind, e.arg, e.drv = kind, arg, drv
	l.entries = append(l.entries, e)
	l.byTarget[target] = e
	return nil
}

// loadTargets reads a comma-separated list of target strings.
func (l *loader) loadTargets(spec string) error {
	l.dir = l.opts.BaseDir
	for _, t := range strings.Split(spec, ",") {
		// Empty items are allowed so that "web1," names one host, as in pyinfra.
		if strings.TrimSpace(t) == "" {
			continue
		}
		if err := l.addEntry(t, nil, "", ""); err != nil {
			return err
		}
	}
	if len(l.entries) == 0 {
		return invalidf(nil, "no target given (want a comma-separated list of hosts or @kind/arg, or an inventory file)")
	}
	return nil
}

// parseTarget splits a target string into its kind and argument and finds
// the kind's driver. The returned error wraps the cause as %w.
func (l *loader) parseTarget(t string) (kind, arg string, drv connector.Driver, err error) {
	if t == "" {
		return "", "", nil, fmt.Errorf("empty target")
	}
	if !strings.HasPrefix(t, "@") {
		if i := strings.IndexFunc(t, unicode.IsSpace); i >= 0 {
			return "", "", nil, fmt.Errorf("target %q: a host name cannot contain spaces", t)
		}
		kind, arg = l.opts.DefaultKind, t
	} else {
		kind, arg, _ = strings.Cut(t[1:], "/")
		if kind == "" {
			return "", "", nil, fmt.Errorf("target %q: no connector kind after @", t)
		}
	}
	drv, ok := l.lookup(kind)
	if !ok {
		uk := &connector.UnknownKindError{Kind: kind, Known: connector.Kinds()}
		if near := suggest.Nearest(kind, uk.Known); near != "" {
			return "", "", nil, fmt.Errorf("target %q: %w; did you mean @%s?", t, uk, near)
		}
		return "", "", nil, fmt.Errorf("target %q: %w", t, uk)
	}
	return kind, arg, drv, nil
}

// expand runs a driver's Expand once per kind and argument.
func (l *loader) expand(drv connector.Driver, kind, arg, target string) ([]connector.Target, error) {
	key := kind + "\x00" + arg
	if ts, ok := l.expanded[key]; ok {
		return ts, nil
	}
	ts, err := safeExpand(l.ctx, drv, kind, arg)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	for i, t := range ts {
		if strings.TrimSpace(t.Name) == "" {
			return nil, fmt.Errorf("target %q: connector %s made host %d without a name", target, kind, i+1)
		}
	}
	l.expanded[key] = ts
	return ts, nil
}

// safeExpand turns a panicking driver (possibly third-party) into an error:
// bad input must never crash the tool.
func safeExpand(ctx context.Context, drv connector.Driver, kind, arg string) (ts []connector.Target, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("connector %s panicked: %v", kind, r)
		}
	}()
	return drv.Expand(ctx, arg)
}

// kindGroup is the group a kind's hosts join; the default kind adds none.
func (l *loader) kindGroup(kind string) []string {
	if kind == connector.DefaultKind || kind == l.opts.DefaultKind {
		return nil
	}
	return []string{"@" + kind}
}

// resolve expands one entry into hosts. Names an inventory-only kind yields
// are run by the default kind, unless they are target strings of an
// executing kind, which expands them in turn (one level deep). A plain name
// is expanded by the default kind; "@kind/x" of an inventory-only kind is
// taken as the host's name as it is.
func (l *loader) resolve(e *entry) error {
	ts, err := l.expand(e.drv, e.kind, e.arg, e.target)
	if err != nil {
		return invalidf(errors.Unwrap(err), "%s%v", e.where, err)
	}
	if connector.Executes(e.drv) {
		for _, t := range ts {
			groups := append(l.kindGroup(e.kind), t.Groups...)
			if err := l.addHost(e, t.Name, e.kind, groups, layer{t.Data, e.kind}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range ts {
		name := strings.TrimSpace(t.Name)
		kind, arg, drv, err := l.parseTarget(name)
		if err != nil {
			return invalidf(errors.Unwrap(err), "%starget %q: connector %s yielded a bad name: %v", e.where, e.target, e.kind, err)
		}
		if !connector.Executes(drv) {
			// "@vagrant/web" names a host of an inventory-only kind (pyinfra's
			// vagrant connector names its hosts so): it is not expanded again
			// but run by the default kind, with the settings its data carries.
			if _, ok := l.lookup(l.opts.DefaultKind); !ok {
				uk := &connector.UnknownKindError{Kind: l.opts.DefaultKind, Known: connector.Kinds()}
				return invalidf(uk, "%starget %q: host %s: %v", e.where, e.target, name, uk)
			}
			if err := l.addHost(e, name, l.opts.DefaultKind, append(l.kindGroup(e.kind), t.Groups...), layer{t.Data, e.kind}); err != nil {
				return err
			}
			continue
		}
		inner, err := l.expand(drv, kind, arg, name)
		if err != nil {
			return invalidf(errors.Unwrap(err), "%starget %q: %v", e.where, e.target, err)
		}
		for _, it := range inner {
			groups := append(append(append(l.kindGroup(e.kind), t.Groups...), l.kindGroup(kind)...), it.Groups...)
			// What the inventory connector says about a host beats what the
			// executing kind derives from its name alone.
			gen := []layer{{it.Data, kind}, {t.Data, e.kind}}
			if err := l.addHost(e, it.Name, kind, groups, gen...); err != nil {
				return err
			}
		}
	}
	return nil
}

func merge(dst, src map[string]any) map[string]any {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]any, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// appendGroups appends the names not in dst yet.
func appendGroups(dst []string, gs ...string) []string {
	for _, g := range gs {
		// Everyone is in "all": its data is a layer of its own.
		if g == "" || g == "all" {
			continue
		}
		dup := false
		for _, x := range dst {
			if x == g {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, g)
		}
	}
	return dst
}

// layer is data a connector kind generated.
type layer struct {
	data map[string]any
	kind string
}

// addHost adds a host made from e, or merges it into the host of the same
// name. gen is connector data, lowest layer first.
func (l *loader) addHost(e *entry, name, kind string, connGroups []string, gen ...layer) error {
	name = strings.TrimSpace(name)
	h, ok := l.byName[name]
	if !ok {
		h = &hostBuild{name: name, kind: kind, origin: e.target}
		l.byName[name] = h
		l.hosts = append(l.hosts, h)
	} else if h.kind != kind {
		return invalidf(nil, "%shost %s: made by kind %s (target %q) and by kind %s (target %q)", e.where, name, h.kind, h.origin, kind, e.target)
	}
	// The file's own group is the broadest, so it comes first (weakest
	// data); the groups the user listed the host in come last (strongest).
	h.groups = appendGroups(h.groups, e.fileGroup)
	h.groups = appendGroups(h.groups, connGroups...)
	h.groups = appendGroups(h.groups, e.groups...)
	h.targets = appendGroups(h.targets, e.target)
	for _, g := range gen {
		h.gen = merge(h.gen, g.data)
		if h.genFrom == nil {
			h.genFrom = map[string]string{}
		}
		for k := range g.data {
			h.genFrom[k] = "connector " + g.kind
		}
	}
	h.user = merge(h.user, e.data)
	if e.where != "" {
		if h.userWhere == nil {
			h.userWhere = map[string]string{}
		}
		for k := range e.data {
			h.userWhere[k] = e.where
		}
	}
	return nil
}
