//go:build unix

package cli_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

type opsJSON struct {
	Modules []struct {
		Name       string `json:"name"`
		Operations []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			Arguments   []struct {
				Name        string `json:"name"`
				Type        string `json:"type"`
				Required    bool   `json:"required"`
				Default     any    `json:"default"`
				Description string `json:"description"`
			} `json:"arguments"`
			ExtraArguments bool `json:"extra_arguments"`
		} `json:"operations"`
	} `json:"modules"`
}

// TestOpsListsEveryOperation: `goinfra --json ops` (the built binary)
// holds every registered operation, in its module, sorted, with each
// declared argument in declaration order, its type, whether it is
// required and its default; the text form has a signature line per
// operation naming every argument, and `goinfra help operations` ends with
// the same list.
func TestOpsListsEveryOperation(t *testing.T) {
	r := goinfra(t, nil, "", "--json", "ops")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var got opsJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r.stdout)
	}
	var doc any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range validate(loadSchema(t, "ops.schema.json"), doc, "$") {
		t.Errorf("ops.schema.json: %s", e)
	}
	var listed []string
	byName := map[string]int{}
	for mi, m := range got.Modules {
		if mi > 0 && got.Modules[mi-1].Name >= m.Name {
			t.Errorf("module %s after %s", m.Name, got.Modules[mi-1].Name)
		}
		for oi, op := range m.Operations {
			if !strings.HasPrefix(op.Name, m.Name+".") {
				t.Errorf("%s listed in module %s", op.Name, m.Name)
			}
			listed = append(listed, op.Name)
			byName[op.Name] = mi<<16 | oi
		}
	}
	names := operations.Names()
	if len(names) < 50 {
		t.Fatalf("only %d operations registered in the test: is operations/builtin linked?", len(names))
	}
	if !slices.Equal(listed, names) {
		t.Fatalf("listed %q\nregistered %q", listed, names)
	}
	for _, name := range names {
		op, _ := operations.Lookup(name)
		at := byName[name]
		l := got.Modules[at>>16].Operations[at&0xffff]
		if l.Description != op.Description || l.ExtraArguments != op.ExtraArgs {
			t.Errorf("%s: description %q extra %v, registered %q %v", name, l.Description, l.ExtraArguments, op.Description, op.ExtraArgs)
		}
		if len(l.Arguments) != len(op.Args) {
			t.Errorf("%s: %d arguments listed, %d declared", name, len(l.Arguments), len(op.Args))
			continue
		}
		for i, a := range op.Args {
			la := l.Arguments[i]
			def := a.Default
			if d, ok := def.(time.Duration); ok {
				def = d.Seconds()
			}
			// The default as JSON gives it back.
			var want any
			if b, err := json.Marshal(def); err == nil {
				_ = json.Unmarshal(b, &want)
			}
			if la.Name != a.Name || la.Type != a.Type.String() && !(a.Type == 0 && la.Type == "any") || la.Required != a.Required || !reflect.DeepEqual(la.Default, want) || la.Description != a.Description {
				t.Errorf("%s argument %d: listed %+v, declared %+v", name, i, la, a)
			}
		}
	}

	text := goinfra(t, nil, "", "ops")
	if text.code != 0 || text.stderr != "" {
		t.Fatalf("ops: exit %d, stderr %q", text.code, text.stderr)
	}
	sigs := signatures(t, text.stdout)
	for _, name := range names {
		op, _ := operations.Lookup(name)
		sig, ok := sigs[name]
		if !ok {
			t.Errorf("ops: no line for %s", name)
			continue
		}
		rest := sig
		for _, a := range op.Args {
			w := a.Name + ":"
			if a.Required {
				w = a.Name + "*:"
			}
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("ops: %s: no %q (in order) in %q", name, w, sig)
				break
			}
			rest = rest[i+len(w):]
		}
	}
	// `goinfra ops files` is the files block of the whole list.
	files := goinfra(t, nil, "", "ops", "files")
	if files.code != 0 || !strings.HasPrefix(files.stdout, "files\n") || !strings.Contains(text.stdout, "\n"+files.stdout) {
		t.Errorf("ops files: exit %d\n%s", files.code, files.stdout)
	}
	// help operations ends with the list, indented.
	help := goinfra(t, nil, "", "help", "operations")
	indented := "  " + strings.ReplaceAll(strings.TrimSuffix(text.stdout, "\n"), "\n", "\n  ")
	indented = strings.ReplaceAll(indented, "\n  \n", "\n\n")
	if help.code != 0 || !strings.Contains(help.stdout, indented+"\n") {
		t.Errorf("help operations does not hold the ops list:\n%s", help.stdout)
	}
}

// signatures joins the listing's lines into one signature per operation
// (continuation lines are indented deeper), by operation name.
func signatures(t *testing.T, out string) map[string]string {
	t.Helper()
	sigs := map[string]string{}
	var cur string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "":
		case !strings.HasPrefix(l, " "): // a module
		case strings.HasPrefix(l, "      "):
			sigs[cur] += " " + strings.TrimSpace(l)
		case strings.HasPrefix(l, "  "):
			name, _, ok := strings.Cut(strings.TrimSpace(l), "(")
			if !ok {
				t.Fatalf("not a signature: %q", l)
			}
			cur = name
			sigs[cur] = strings.TrimSpace(l)
		}
		if len(l) > 80 && !strings.Contains(l, ", ") {
			t.Errorf("a line over 80 columns that could not break: %q", l)
		}
	}
	for name, s := range sigs {
		if !strings.HasSuffix(s, ")") {
			t.Errorf("%s: signature %q does not close", name, s)
		}
	}
	if len(sigs) == 0 {
		t.Fatalf("no signatures in:\n%s", out)
	}
	return sigs
}
