package pyfixture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// A test operation: echo the fact test.Word (asked with path=ARG) when it
// is set.
func init() {
	operations.Register(operations.Op{
		Name: "pyfixture.echo",
		Args: []operations.Arg{{Name: "path", Type: connector.String, Required: true}},
		Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
			v, err := h.Fact(ctx, "test.Word", facts.Args{"path": args.String("path")})
			if err != nil || v == nil {
				return &operations.Plan{}, err
			}
			return &operations.Plan{Steps: []operations.Step{&operations.Command{Cmd: command.Args("echo", v.(string))}}}, nil
		},
	})
	// Another: upload the word to the path.
	operations.Register(operations.Op{
		Name: "pyfixture.write",
		Args: []operations.Arg{{Name: "path", Type: connector.String, Required: true}},
		Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
			v, err := h.Fact(ctx, "test.Word", facts.Args{"path": args.String("path")})
			if err != nil || v == nil {
				return &operations.Plan{}, err
			}
			b := []byte(v.(string) + "\n")
			return &operations.Plan{Steps: []operations.Step{&operations.Upload{Dest: args.String("path"), Src: "(word)",
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}}}, nil
		},
	})
}

var words = map[string]Fact{"test.Word": {
	Key:   func(a facts.Args) map[string]string { return map[string]string{"path": a["path"]} },
	Value: func(raw json.RawMessage) (any, error) { var s string; err := json.Unmarshal(raw, &s); return s, err },
}}

func opCase(t *testing.T, text string) *OpCase {
	t.Helper()
	var c OpCase
	if err := json.Unmarshal([]byte(text), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestCheckOp: keyed facts are found by pyinfra's key, a missing key is
// null, and a command or error that differs is a mismatch.
func TestCheckOp(t *testing.T) {
	answers := `"facts": {"test.Word": {"path=/a": "a b", "path=/b": null}}`
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{`{"args": ["/a"], ` + answers + `, "commands": ["echo 'a b'"]}`, true},
		{`{"args": ["/a"], ` + answers + `, "commands": ["echo a b"]}`, false},
		{`{"args": ["/b"], ` + answers + `, "commands": []}`, true},
		{`{"args": ["/c"], ` + answers + `, "commands": []}`, true},
		{`{"args": ["/a"], ` + answers + `, "exception": {"message": "boom"}}`, false},
		{`{"args": ["/a"], "facts": {"test.Word": "plain"}, "commands": ["echo plain"]}`, true},
	} {
		err := CheckOp("pyfixture.echo", opCase(t, c.text), words)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrMismatch)) {
			t.Errorf("%s: %v", c.text, err)
		}
	}
}

func TestKwargsString(t *testing.T) {
	got := KwargsString(map[string]string{"user_mode": PyBool(false), "services": PyList([]string{"a.service"}), "machine": PyStr("")})
	if want := "machine=None, services=['a.service'], user_mode=False"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// TestCheckOpUpload: pyinfra's ["upload", content, dest] matches an
// upload of that content to that destination, and nothing else.
func TestCheckOpUpload(t *testing.T) {
	answers := `"facts": {"test.Word": {"path=/a": "a b"}}`
	for _, c := range []struct {
		op, text string
		ok       bool
	}{
		{"pyfixture.write", `{"args": ["/a"], ` + answers + `, "commands": [["upload", "a b\n", "/a"]]}`, true},
		{"pyfixture.write", `{"args": ["/a"], ` + answers + `, "commands": [["upload", "a b", "/a"]]}`, false},
		{"pyfixture.write", `{"args": ["/a"], ` + answers + `, "commands": [["upload", "a b\n", "/b"]]}`, false},
		{"pyfixture.echo", `{"args": ["/a"], ` + answers + `, "commands": [["upload", "a b\n", "/a"]]}`, false},
		{"pyfixture.write", `{"args": ["/a"], ` + answers + `, "commands": [["download", "/a", "/b"]]}`, false},
	} {
		err := CheckOp(c.op, opCase(t, c.text), words)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrMismatch)) {
			t.Errorf("%s %s: %v", c.op, c.text, err)
		}
	}
}
