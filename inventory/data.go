package inventory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/runargs"
)

// ParseData reads one --data argument, "key=value". The value is typed by
// connector.ParseValue (true/false, integers, JSON, else text), except for
// keys some kind or global argument declares as strings: those keep the
// text as given, so "--data ssh_user=1000" is the user "1000", not a type
// error (pyinfra #1089 is the same mistake with vagrant ports).
func ParseData(kv string) (key string, value any, err error) {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok {
		return "", nil, invalidf(nil, "--data %q: want key=value", kv)
	}
	if k == "" {
		// The value may be a secret: do not echo it.
		return "", nil, invalidf(nil, "--data: no key before '='")
	}
	if declaredType(k) == connector.String {
		return k, v, nil
	}
	return k, connector.ParseValue(v), nil
}

// declaredType is the type some registered kind or global argument gives
// key, or 0.
func declaredType(key string) connector.Type {
	if k, ok := runargs.Lookup(key); ok {
		return k.Type
	}
	for _, kind := range connector.Kinds() {
		d, ok := connector.Lookup(kind)
		if !ok {
			continue
		}
		for _, k := range d.DataKeys() {
			if k.Name == key {
				return k.Type
			}
		}
	}
	return 0
}

// secretWords mark keys whose values are masked even when no kind declares
// them: user data such as "db_password" or "api_token".
var secretWords = []string{"password", "passphrase", "secret", "token"}

// IsSecret reports whether the value of key on a host of kind must be
// masked when shown: the kind or the global arguments declare it secret,
// or its name says so.
func IsSecret(kind, key string) bool {
	lk := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			return true
		}
	}
	if k, ok := runargs.Lookup(key); ok {
		return k.Secret
	}
	if d, ok := connector.Lookup(kind); ok {
		for _, k := range d.DataKeys() {
			if k.Name == key {
				return k.Secret
			}
		}
	}
	return false
}

// mask returns v with secret map entries (by name) replaced by ***, and
// durations as text, ready to be shown or encoded.
func mask(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if IsSecret("", k) {
				out[k] = command.MaskText
			} else {
				out[k] = mask(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mask(e)
		}
		return out
	case time.Duration:
		return x.String()
	}
	return v
}

// MaskedData returns the host's data with secret values replaced by ***,
// safe to show or log. withDefaults adds the keys that only hold their
// declared default.
func (h *Host) MaskedData(withDefaults bool) map[string]any {
	out := make(map[string]any, len(h.Data))
	for k, v := range h.Data {
		if !withDefaults && h.Source(k) == "default" {
			continue
		}
		if IsSecret(h.Kind, k) {
			out[k] = command.MaskText
			continue
		}
		out[k] = mask(v)
	}
	return out
}

// Describe renders the hosts, their groups and data (with the layer each
// value came from), and the groups, for `goinfra debug-inventory`. Secret
// values are masked; keys at their declared defaults are counted, not
// listed.
func (inv *Inventory) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hosts (%d):\n", len(inv.Hosts))
	for _, h := range inv.Hosts {
		fmt.Fprintf(&b, "  %s  [kind %s]\n", h.Name, h.Kind)
		if len(h.Groups) > 0 {
			fmt.Fprintf(&b, "    groups: %s\n", strings.Join(h.Groups, ", "))
		}
		data := h.MaskedData(false)
		defaults := len(h.Data) - len(data)
		for _, k := range sortedKeys(data) {
			fmt.Fprintf(&b, "    %s = %s  (%s)\n", k, render(data[k]), h.Source(k))
		}
		if defaults > 0 {
			fmt.Fprintf(&b, "    (%d more keys at their defaults)\n", defaults)
		}
	}
	fmt.Fprintf(&b, "groups (%d):\n", len(inv.Groups))
	for _, g := range sortedKeys(inv.Groups) {
		fmt.Fprintf(&b, "  %s: %s\n", g, strings.Join(inv.Groups[g], ", "))
	}
	return b.String()
}

func render(v any) string {
	if s, ok := v.(string); ok && s == command.MaskText {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// MarshalJSON encodes the inventory with secrets masked (as Describe
// does), defaults included, and each key's layer under "sources".
func (inv *Inventory) MarshalJSON() ([]byte, error) {
	type jhost struct {
		Name    string            `json:"name"`
		Kind    string            `json:"kind"`
		Groups  []string          `json:"groups"`
		Data    map[string]any    `json:"data"`
		Sources map[string]string `json:"sources"`
	}
	out := struct {
		Hosts  []jhost             `json:"hosts"`
		Groups map[string][]string `json:"groups"`
	}{Hosts: []jhost{}, Groups: inv.Groups}
	for _, h := range inv.Hosts {
		groups := h.Groups
		if groups == nil {
			groups = []string{}
		}
		sources := make(map[string]string, len(h.Data))
		for k := range h.Data {
			sources[k] = h.Source(k)
		}
		out.Hosts = append(out.Hosts, jhost{h.Name, h.Kind, groups, h.MaskedData(true), sources})
	}
	return json.Marshal(out)
}
