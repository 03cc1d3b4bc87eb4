package connector

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is the type of a data value, as users write it in inventories,
// --data flags and JSON.
type Type int

const (
	String Type = iota + 1
	Int
	Float
	Bool
	// Duration is seconds as a number, or a Go duration string ("1m30s").
	Duration
	StringList
	IntList
	Map
	// Any accepts every value.
	Any
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	case Duration:
		return "duration"
	case StringList:
		return "list of strings"
	case IntList:
		return "list of ints"
	case Map:
		return "map"
	case Any:
		return "any"
	}
	return "unknown"
}

// DataKey declares one key a connector kind reads from host data.
type DataKey struct {
	Name        string
	Type        Type
	Default     any
	Description string
	// Secret values are masked wherever data is shown.
	Secret bool
}

// TypeName describes a Go value in the words Type uses, for error messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case float32, float64:
		return "float"
	case time.Duration:
		return "duration"
	case []string, []any, []int:
		return "list"
	case map[string]any, map[string]string:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// DataTypeError is a host data value of the wrong type.
type DataTypeError struct {
	Host     string
	Key      string
	Expected Type
	Given    any
	// Secret hides the given value in the message.
	Secret bool
}

func (e *DataTypeError) Error() string {
	given := TypeName(e.Given)
	if !e.Secret {
		given += " " + shortValue(e.Given)
	}
	return fmt.Sprintf("host %s: data key %s: expected %s, given %s", e.Host, e.Key, e.Expected, given)
}

func shortValue(v any) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// Convert checks v against t and returns it in its canonical Go type:
// string, int, float64, bool, time.Duration, []string, []int, map[string]any.
// Integral floats (JSON numbers) are accepted as int.
func Convert(t Type, v any) (any, bool) {
	switch t {
	case Any:
		return v, true
	case String:
		s, ok := v.(string)
		return s, ok
	case Bool:
		b, ok := v.(bool)
		return b, ok
	case Int:
		return toInt(v)
	case Float:
		switch n := v.(type) {
		case float64:
			return n, true
		case float32:
			return float64(n), true
		}
		if i, ok := toInt(v); ok {
			return float64(i.(int)), true
		}
		return nil, false
	case Duration:
		switch n := v.(type) {
		case time.Duration:
			return n, true
		case string:
			if d, err := time.ParseDuration(n); err == nil {
				return d, true
			}
			if f, err := strconv.ParseFloat(n, 64); err == nil && f >= 0 {
				return time.Duration(f * float64(time.Second)), true
			}
			return nil, false
		}
		if f, ok := Convert(Float, v); ok && f.(float64) >= 0 {
			return time.Duration(f.(float64) * float64(time.Second)), true
		}
		return nil, false
	case StringList:
		switch l := v.(type) {
		case []string:
			return l, true
		case string:
			return []string{l}, true
		case []any:
			out := make([]string, len(l))
			for i, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				out[i] = s
			}
			return out, true
		}
		return nil, false
	case IntList:
		switch l := v.(type) {
		case []int:
			return l, true
		case []any:
			out := make([]int, len(l))
			for i, e := range l {
				n, ok := toInt(e)
				if !ok {
					return nil, false
				}
				out[i] = n.(int)
			}
			return out, true
		}
		if n, ok := toInt(v); ok {
			return []int{n.(int)}, true
		}
		return nil, false
	case Map:
		switch m := v.(type) {
		case map[string]any:
			return m, true
		case map[string]string:
			out := make(map[string]any, len(m))
			for k, e := range m {
				out[k] = e
			}
			return out, true
		}
		return nil, false
	}
	return nil, false
}

func toInt(v any) (any, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		if n > math.MaxInt64 {
			return nil, false
		}
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int(n), true
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(i), true
		}
	}
	return nil, false
}

// ParseValue types a value given as text (a --data flag, k=v operation
// arguments): true/false, integers, JSON, otherwise the string itself.
func ParseValue(s string) any {
	switch s {
	case "true", "True":
		return true
	case "false", "False":
		return false
	}
	if i, err := strconv.Atoi(s); err == nil {
		return i
	}
	t := strings.TrimSpace(s)
	if len(t) > 0 && strings.ContainsRune(`{["-0123456789.`, rune(t[0])) {
		var v any
		if err := json.Unmarshal([]byte(t), &v); err == nil {
			return v
		}
	}
	return s
}

// Data is a host's resolved data: every layer already merged.
// Lookups of declared keys return their canonical types (see Convert).
type Data map[string]any

// Get returns the value of key and whether it is set.
func (d Data) Get(key string) (any, bool) {
	v, ok := d[key]
	return v, ok
}

// String returns key as a string, or "" when unset or not a string.
func (d Data) String(key string) string {
	s, _ := d[key].(string)
	return s
}

// Bool returns key as a bool, false when unset.
func (d Data) Bool(key string) bool {
	b, _ := d[key].(bool)
	return b
}

// Int returns key as an int, 0 when unset.
func (d Data) Int(key string) int {
	n, _ := toInt(d[key])
	i, _ := n.(int)
	return i
}

// Float returns key as a float64, 0 when unset.
func (d Data) Float(key string) float64 {
	f, _ := Convert(Float, d[key])
	x, _ := f.(float64)
	return x
}

// Duration returns key as a duration, 0 when unset.
func (d Data) Duration(key string) time.Duration {
	v, _ := Convert(Duration, d[key])
	x, _ := v.(time.Duration)
	return x
}

// Strings returns key as a list of strings.
func (d Data) Strings(key string) []string {
	v, _ := Convert(StringList, d[key])
	x, _ := v.([]string)
	return x
}

// Map returns key as a map.
func (d Data) Map(key string) map[string]any {
	v, _ := Convert(Map, d[key])
	x, _ := v.(map[string]any)
	return x
}

// Keys returns the set keys, sorted.
func (d Data) Keys() []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Check type-checks the declared keys present in d, converts them to their
// canonical types in place, and fills in defaults for unset keys.
func (d Data) Check(host string, keys []DataKey) error {
	for _, k := range keys {
		v, ok := d[k.Name]
		if !ok || v == nil {
			if k.Default != nil {
				d[k.Name] = k.Default
			}
			continue
		}
		c, ok := Convert(k.Type, v)
		if !ok {
			return &DataTypeError{Host: host, Key: k.Name, Expected: k.Type, Given: v, Secret: k.Secret}
		}
		d[k.Name] = c
	}
	return nil
}
