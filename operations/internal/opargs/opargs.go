// Package opargs reads the optional arguments of operations: values that
// may be None (nil), checked for their type with an error naming the
// argument, as pyinfra's operations accept them.
package opargs

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
)

// Bool reads an argument that may be a bool or None (nil).
func Bool(args connector.Data, name string) (*bool, error) {
	switch v := args[name].(type) {
	case nil:
		return nil, nil
	case bool:
		return &v, nil
	default:
		return nil, fmt.Errorf("%s: expected bool or None, given %s", name, connector.TypeName(v))
	}
}

// String reads an argument that may be a string or None ("" is unset).
func String(args connector.Data, name string) (string, error) {
	switch v := args[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: expected string or None, given %s", name, connector.TypeName(v))
	}
}

// Strings reads a list of strings, a single string or None (nil).
func Strings(args connector.Data, name string) ([]string, error) {
	v := args[name]
	if v == nil {
		return nil, nil
	}
	l, ok := connector.Convert(connector.StringList, v)
	if !ok {
		return nil, fmt.Errorf("%s: expected a list of strings, given %s", name, connector.TypeName(v))
	}
	return l.([]string), nil
}
