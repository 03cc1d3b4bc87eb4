package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"go.starlark.net/starlark"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/operations"
)

// module is one namespace of operations and facts (server, files, ...).
type module struct {
	name    string
	members starlark.StringDict
}

var _ starlark.HasAttrs = (*module)(nil)

func (m *module) String() string        { return "<module " + m.name + ">" }
func (m *module) Type() string          { return "module" }
func (m *module) Freeze()               {}
func (m *module) Truth() starlark.Bool  { return true }
func (m *module) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: module") }
func (m *module) AttrNames() []string   { return sortedKeys(m.members) }
func (m *module) Attr(name string) (starlark.Value, error) {
	if v, ok := m.members[name]; ok {
		return v, nil
	}
	_, err := moduleAttr(m.name, name)
	return nil, err
}

// buildModules makes one module per namespace of the operations and facts
// registries.
func buildModules() starlark.StringDict {
	mods := map[string]*module{}
	get := func(ns string) *module {
		m, ok := mods[ns]
		if !ok {
			m = &module{name: ns, members: starlark.StringDict{}}
			mods[ns] = m
		}
		return m
	}
	for _, n := range operations.Names() {
		ns, attr, ok := strings.Cut(n, ".")
		if !ok {
			continue
		}
		get(ns).members[attr] = starlark.NewBuiltin(n, callOp)
	}
	for _, n := range facts.Names() {
		ns, attr, ok := strings.Cut(n, ".")
		if !ok {
			continue
		}
		get(ns).members[attr] = factRef(n)
	}
	d := starlark.StringDict{}
	for ns, m := range mods {
		d[ns] = m
	}
	return d
}

func moduleNames(mods starlark.StringDict) []string { return sortedKeys(mods) }

// moduleAttr checks that mod.name is a registered operation (lower-case
// name) or fact (capitalised), suggesting the nearest otherwise.
func moduleAttr(mod, name string) (string, error) {
	full := mod + "." + name
	isFact := name != "" && unicode.IsUpper(rune(name[0]))
	if isFact {
		if _, ok := facts.Lookup(full); ok {
			return full, nil
		}
		msg := fmt.Sprintf("%s has no fact %s", mod, name)
		if s := suggest.Nearest(full, facts.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return "", fmt.Errorf("%s", msg)
	}
	if _, ok := operations.Lookup(full); ok {
		return full, nil
	}
	msg := fmt.Sprintf("%s has no operation %s", mod, name)
	if s := suggest.Nearest(full, operations.Names()); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else if s := suggest.Nearest(full, facts.Names()); s != "" {
		msg += fmt.Sprintf(" (did you mean the fact %s?)", s)
	}
	return "", fmt.Errorf("%s", msg)
}

// factRef names a fact (server.Os), for host.get_fact.
type factRef string

func (f factRef) String() string        { return string(f) }
func (f factRef) Type() string          { return "fact" }
func (f factRef) Freeze()               {}
func (f factRef) Truth() starlark.Bool  { return true }
func (f factRef) Hash() (uint32, error) { return starlark.String(f).Hash() }

// Result is what an operation call returns in a deploy file: whether the
// operation will change (.changed) and, once it ran, did change
// (.did_change()).
type Result struct {
	decl *Decl
}

var _ starlark.HasAttrs = (*Result)(nil)

func (r *Result) String() string {
	return fmt.Sprintf("<operation %s changed=%v>", r.decl.Name, r.decl.WillChange())
}
func (r *Result) Type() string          { return "operation" }
func (r *Result) Freeze()               {}
func (r *Result) Truth() starlark.Bool  { return true }
func (r *Result) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: operation") }
func (r *Result) AttrNames() []string   { return []string{"changed", "did_change", "name"} }
func (r *Result) Attr(name string) (starlark.Value, error) {
	switch name {
	case "changed":
		return starlark.Bool(r.decl.WillChange()), nil
	case "name":
		return starlark.String(r.decl.Name), nil
	case "did_change":
		return starlark.NewBuiltin("did_change", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Bool(r.decl.changedNow()), nil
		}), nil
	}
	return nil, nil
}

// hostValue is `host` in a deploy file.
type hostValue struct {
	hr *hostRun
}

func (h *hostValue) String() string        { return "<host " + h.hr.h.Name + ">" }
func (h *hostValue) Type() string          { return "host" }
func (h *hostValue) Freeze()               {}
func (h *hostValue) Truth() starlark.Bool  { return true }
func (h *hostValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: host") }
func (h *hostValue) AttrNames() []string {
	return []string{"data", "get_fact", "groups", "in_group", "name"}
}
func (h *hostValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(h.hr.h.Name), nil
	case "groups":
		l := make([]starlark.Value, len(h.hr.h.Groups))
		for i, g := range h.hr.h.Groups {
			l[i] = starlark.String(g)
		}
		return starlark.NewList(l), nil
	case "data":
		return h.hr.data, nil
	case "get_fact":
		return starlark.NewBuiltin("host.get_fact", h.hr.getFact), nil
	case "in_group":
		return starlark.NewBuiltin("host.in_group", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var g string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 1, &g); err != nil {
				return nil, err
			}
			return starlark.Bool(h.hr.h.InGroup(g)), nil
		}), nil
	}
	return nil, nil
}

// hostData is host.data: attributes (host.data.port, None when unset),
// indexing (host.data["port"]) and get/keys.
type hostData struct {
	host string
	d    map[string]starlark.Value
}

var (
	_ starlark.HasAttrs = (*hostData)(nil)
	_ starlark.Mapping  = (*hostData)(nil)
)

func (d *hostData) String() string        { return "<host data of " + d.host + ">" }
func (d *hostData) Type() string          { return "host.data" }
func (d *hostData) Freeze()               {}
func (d *hostData) Truth() starlark.Bool  { return len(d.d) > 0 }
func (d *hostData) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: host.data") }
func (d *hostData) AttrNames() []string   { return append(sortedKeys(d.d), "get", "keys") }
func (d *hostData) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return starlark.NewBuiltin("host.data.get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var k string
			var def starlark.Value = starlark.None
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 1, &k, &def); err != nil {
				return nil, err
			}
			if v, ok := d.d[k]; ok {
				return v, nil
			}
			return def, nil
		}), nil
	case "keys":
		return starlark.NewBuiltin("host.data.keys", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var l []starlark.Value
			for _, k := range sortedKeys(d.d) {
				l = append(l, starlark.String(k))
			}
			return starlark.NewList(l), nil
		}), nil
	}
	if v, ok := d.d[name]; ok {
		return v, nil
	}
	return starlark.None, nil
}

func (d *hostData) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("host.data keys are strings, given %s", k.Type())
	}
	v, ok := d.d[string(s)]
	if !ok {
		return nil, false, fmt.Errorf("host %s has no data %s", d.host, s)
	}
	return v, true, nil
}

// toStarlark turns a Go value (host data, a fact) into a Starlark value.
// Values of other types go through JSON, as facts encode to JSON.
func toStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return x, nil
	case string:
		return starlark.String(x), nil
	case *string: // a fact whose "" is an answer (files.FileContents)
		if x == nil {
			return starlark.None, nil
		}
		return starlark.String(*x), nil
	case bool:
		return starlark.Bool(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return starlark.MakeInt64(int64(x)), nil
		}
		return starlark.Float(x), nil
	case time.Duration:
		return starlark.Float(x.Seconds()), nil
	case []string:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = starlark.String(e)
		}
		return starlark.NewList(l), nil
	case []int:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = starlark.MakeInt(e)
		}
		return starlark.NewList(l), nil
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			l[i] = sv
		}
		return starlark.NewList(l), nil
	case map[string]any:
		d := starlark.NewDict(len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sv, err := toStarlark(x[k])
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot pass %T to a deploy file: %w", v, err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	return toStarlark(generic)
}

// toGo turns a Starlark value into the Go types operations and global
// arguments take. Operation results and callables stay as they are (for
// _if).
func toGo(v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			return int(i), nil
		}
		return nil, fmt.Errorf("integer %s is too large", x)
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return string(x), nil
	case *starlark.List:
		return iterToGo(x)
	case starlark.Tuple:
		return iterToGo(x)
	case *starlark.Set:
		return iterToGo(x)
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, kv := range x.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, given %s", kv[0].Type())
			}
			e, err := toGo(kv[1])
			if err != nil {
				return nil, err
			}
			m[string(k)] = e
		}
		return m, nil
	case *Result, starlark.Callable:
		return x, nil
	}
	return nil, fmt.Errorf("cannot use a %s here", v.Type())
}

func iterToGo(it starlark.Iterable) ([]any, error) {
	out := []any{}
	iter := it.Iterate()
	defer iter.Done()
	var e starlark.Value
	for iter.Next(&e) {
		g, err := toGo(e)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
