package files

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

var replaceOp = operations.Op{
	Name:        "files.replace",
	Description: "replace text matching a regular expression in every line of a file, as sed's s/TEXT/REPLACE/FLAGS",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "remote file"},
		{Name: "text", Type: connector.String, Description: "regular expression to replace (Go's RE2 syntax, as files.line), within each line"},
		{Name: "replace", Type: connector.String, Description: "the replacement: \\1 to \\9 are the groups, & is itself (as in pyinfra)"},
		{Name: "flags", Type: connector.StringList, Description: "sed's flags: g replaces every match of a line (else the first), i or I ignores case"},
		{Name: "backup", Type: connector.Bool, Default: false, Description: "copy the file to PATH.TIMESTAMP before changing it"},
		{Name: "interpolate_variables", Type: connector.Bool, Default: false, Description: "let the host's shell expand $VARIABLES in text and replace first (inside double quotes)"},
		{Name: "match", Type: connector.String, Description: "pyinfra's old name of text"},
	},
	Plan: planReplace,
}

// ShellExpand is text as the host's shell expands it between double
// quotes ($VAR, $(cmd)): files.replace's interpolate_variables.
var ShellExpand = facts.New(facts.Fact{
	Name:        "files.ShellExpand",
	Description: "text=TEXT: TEXT as the host's shell expands it between double quotes (files.replace's interpolate_variables)",
	Args:        []string{"text"},
	Required:    []string{"text"},
	Command: func(a facts.Args) (command.Command, error) {
		// Only " is escaped, as pyinfra: $, ` and \ keep their meaning.
		return command.New("printf", "'%s\\n'", `"`+strings.ReplaceAll(a["text"], `"`, `\"`)+`"`), nil
	},
}, facts.Arg("text"), func(out connector.Output, _ facts.Args) (string, error) {
	return strings.Join(out.StdoutLines(), "\n"), nil
})

func planReplace(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	text, repl := args.String("text"), args.String("replace")
	if text == "" {
		text = args.String("match")
	}
	if text == "" {
		return nil, fmt.Errorf("text is needed")
	}
	if _, ok := args["replace"]; !ok {
		return nil, fmt.Errorf("replace is needed")
	}
	global, prefix := false, ""
	for _, f := range strings.Split(strings.Join(args.Strings("flags"), ""), "") {
		switch f {
		case "g":
			global = true
		case "i", "I":
			prefix = "(?i)"
		default:
			return nil, fmt.Errorf("flags: %q is not supported (g, i, I are)", f)
		}
	}
	if args.Bool("interpolate_variables") {
		var err error
		if text, err = ShellExpand.Get(ctx, h, text); err != nil {
			return nil, err
		}
		if repl != "" {
			if repl, err = ShellExpand.Get(ctx, h, repl); err != nil {
				return nil, err
			}
		}
	}
	re, err := regexp.Compile(prefix + text)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	old, err := FileContents.Get(ctx, h, p)
	if err != nil || old == nil {
		// A missing file is no change here; the deploy plans again after
		// an earlier operation changed the host (and may have made it).
		return &operations.Plan{}, err
	}
	lines, trailing := splitLines(*old)
	tmpl := sedTemplate(repl)
	for i, l := range lines {
		if global {
			lines[i] = re.ReplaceAllString(l, tmpl)
		} else if m := re.FindStringSubmatchIndex(l); m != nil {
			lines[i] = l[:m[0]] + string(re.ExpandString(nil, tmpl, l, m)) + l[m[1]:]
		}
	}
	updated := joinLines(lines, trailing)
	if updated == *old {
		return &operations.Plan{}, nil
	}
	return rewrite(p, old, updated, args.Bool("backup")), nil
}

// sedTemplate turns a sed replacement into a regexp template: \N is
// group N, \\ a backslash, & (which pyinfra escapes) and $ themselves.
func sedTemplate(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
