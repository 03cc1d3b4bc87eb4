package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

// An operation on the command line takes its arguments in pyinfra's three
// forms:
//
//	goinfra @local files.line path=/etc/hosts line='10.0.0.5 db'   # key=value
//	goinfra @local files.line /etc/hosts '10.0.0.5 db'             # positional
//	goinfra @local server.shell '[["echo hi"], {"_sudo": true}]'    # JSON
//
// Positional arguments fill the operation's declared arguments in order
// (`goinfra help OP` lists them in that order), as Python fills a
// function's parameters. A word is key=value when the text before its
// first "=" is a name (letters, digits, "_"); any other word is positional,
// so a command such as 'echo a=b' needs no escaping. A value for an
// argument declared a string (or a list of strings, unless the word is a
// JSON list) is that text; others are typed as --data values are
// (true/false, integers, JSON, else text).

// argName is what may stand before "=" in a key=value word.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// opValues reads the words after an operation's name into its arguments.
// An operation that does not exist gets no error here: the deploy package
// reports it, with a suggestion.
func opValues(name string, words []string) (map[string]any, error) {
	op, ok := operations.Lookup(name)
	if !ok {
		return map[string]any{}, nil
	}
	if len(words) == 1 {
		if pos, kw, ok := jsonForm(words[0]); ok {
			values := map[string]any{}
			for k, v := range kw {
				values[k] = v
			}
			return placePositional(op, pos, values)
		}
	}
	values := map[string]any{}
	var pos []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || !argName.MatchString(k) {
			pos = append(pos, w)
			continue
		}
		if _, dup := values[k]; dup {
			return nil, fmt.Errorf("%s: argument %s given twice", name, k)
		}
		values[k] = typed(op, k, v)
	}
	typedPos := make([]any, len(pos))
	for i, w := range pos {
		typedPos[i] = w
		if i < len(op.Args) {
			typedPos[i] = typed(op, op.Args[i].Name, w)
		}
	}
	return placePositional(op, typedPos, values)
}

// typed types a value given as text: as text for an argument declared a
// string (line=123 is the text "123") or a list of strings unless it is a
// JSON list (server.shell true runs "true"), else as --data values are.
func typed(op *operations.Op, name, text string) any {
	for _, a := range op.Args {
		if a.Name != name {
			continue
		}
		switch a.Type {
		case connector.String:
			return text
		case connector.StringList:
			var l []any
			if strings.HasPrefix(strings.TrimSpace(text), "[") && json.Unmarshal([]byte(text), &l) == nil {
				return l
			}
			return text
		}
	}
	return connector.ParseValue(text)
}

// jsonForm reads pyinfra's JSON form: one word holding a list of the
// positional arguments and an object of the keyword ones (either may be
// null). Any other word is not in that form.
func jsonForm(w string) (pos []any, kw map[string]any, ok bool) {
	t := strings.TrimSpace(w)
	if !strings.HasPrefix(t, "[") {
		return nil, nil, false
	}
	var pair []json.RawMessage
	if err := json.Unmarshal([]byte(t), &pair); err != nil || len(pair) != 2 {
		return nil, nil, false
	}
	if json.Unmarshal(pair[0], &pos) != nil || json.Unmarshal(pair[1], &kw) != nil {
		return nil, nil, false
	}
	return pos, kw, true
}

// placePositional gives positional values the names of op's declared
// arguments, in order.
func placePositional(op *operations.Op, pos []any, values map[string]any) (map[string]any, error) {
	if len(pos) > len(op.Args) {
		names := make([]string, len(op.Args))
		for i, a := range op.Args {
			names[i] = a.Name
		}
		return nil, fmt.Errorf("%s: %d positional arguments, it takes at most %d (%s)", op.Name, len(pos), len(op.Args), strings.Join(names, ", "))
	}
	for i, v := range pos {
		name := op.Args[i].Name
		if _, dup := values[name]; dup {
			return nil, fmt.Errorf("%s: argument %s given twice (positional argument %d and %s=)", op.Name, name, i+1, name)
		}
		values[name] = v
	}
	return values, nil
}
