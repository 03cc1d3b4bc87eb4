package facts

import (
	"context"
	"fmt"
	"reflect"

	"github.com/goinfra-dev/goinfra/connector"
)

// Typed is a registered fact of an argument A whose value is a T, as a
// module declares it:
//
//	var FileContents = facts.New(facts.Fact{Name: "files.FileContents", ...}, facts.Arg("path"), parseContents)
//
// and an operation reads it:
//
//	text, err := files.FileContents.Get(ctx, h, "/etc/hosts")
//
// The zero T is the fact's null (JSON null, None in a deploy file): a nil
// pointer, slice or map, an empty string. A fact whose empty string is an
// answer uses *string.
type Typed[A, T any] struct {
	name string
	args func(A) Args
}

// New registers def, with parse as its parser, and returns it typed. args
// turns Get's argument into the fact's Args (Arg("path") for a fact of one
// text argument). def.Parse must be nil: the registered parser is parse,
// with a zero value given as nil.
func New[A, T any](def Fact, args func(A) Args, parse func(out connector.Output, args Args) (T, error)) Typed[A, T] {
	register(def, parse)
	return Typed[A, T]{name: def.Name, args: args}
}

// Name is the fact's registered name.
func (f Typed[A, T]) Name() string { return f.name }

// Get gathers the fact with argument a from h: the zero T when its value
// is null.
func (f Typed[A, T]) Get(ctx context.Context, h Source, a A) (T, error) {
	return get[T](ctx, h, f.name, f.args(a))
}

// Plain is a registered fact without arguments whose value is a T
// (server.Os.Get(ctx, h) is a string); its zero value is null, as
// Typed's.
type Plain[T any] struct {
	name string
}

// NewPlain registers def, with parse as its parser, and returns it typed,
// as New does for a fact without arguments.
func NewPlain[T any](def Fact, parse func(out connector.Output, args Args) (T, error)) Plain[T] {
	register(def, parse)
	return Plain[T]{name: def.Name}
}

// Name is the fact's registered name.
func (f Plain[T]) Name() string { return f.name }

// Get gathers the fact from h: the zero T when its value is null.
func (f Plain[T]) Get(ctx context.Context, h Source) (T, error) {
	return get[T](ctx, h, f.name, nil)
}

// Arg is the Args of a fact of one text argument: Arg("path") turns
// "/etc/hosts" into path=/etc/hosts.
func Arg(name string) func(string) Args {
	return func(v string) Args { return Args{name: v} }
}

// register registers def with parse as its untyped parser: what the
// registry, the CLI and deploy files see, and what caches hold.
func register[T any](def Fact, parse func(connector.Output, Args) (T, error)) {
	if def.Parse != nil || parse == nil {
		panic("facts: New needs a parser apart from Fact.Parse, which must be nil (" + def.Name + ")")
	}
	def.Parse = func(out connector.Output, a Args) (any, error) {
		v, err := parse(out, a)
		if err != nil {
			return nil, err
		}
		// A typed nil (*FileInfo)(nil) in an interface is not nil: make
		// null one value, the one JSON, deploy files and Get expect.
		if reflect.ValueOf(&v).Elem().IsZero() {
			return nil, nil
		}
		return v, nil
	}
	Register(def)
}

// get asks h for the fact and gives its value as a T. A value of another
// type is an error (a fake Source that answers wrongly), never a panic.
func get[T any](ctx context.Context, h Source, name string, args Args) (T, error) {
	var zero T
	v, err := h.Fact(ctx, name, args)
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("fact %s: value of type %T, want %T", name, v, zero)
	}
	return t, nil
}
