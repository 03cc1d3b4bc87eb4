package files

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

var lineOp = operations.Op{
	Name:        "files.line",
	Description: "ensure lines matching a regular expression are in a file (appended when missing), replaced or removed",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "remote file"},
		{Name: "line", Type: connector.String, Required: true, Description: "regular expression matching the line (whole line unless anchored with ^/$); appended as text when missing"},
		argPresent,
		{Name: "replace", Type: connector.String, Default: "", Description: "text of matching lines (and the line appended) when present"},
		{Name: "flags", Type: connector.StringList, Description: "sed-style flags: i (or I) ignores case; g is accepted"},
		{Name: "backup", Type: connector.Bool, Default: false, Description: "copy the file to PATH.TIMESTAMP before changing it"},
		{Name: "interpolate_variables", Type: connector.Bool, Default: false, Description: "let the host's shell expand $VARIABLES in line and replace first (inside double quotes)"},
		{Name: "escape_regex_characters", Type: connector.Bool, Default: false, Description: "line is literal text, not a regular expression"},
		{Name: "assume_present", Type: connector.Bool, Default: false, Description: "accepted for pyinfra compatibility; the file is read in any case"},
		{Name: "ensure_newline", Type: connector.Bool, Default: false, Description: "accepted for pyinfra compatibility: an appended line always starts a line of its own (pyinfra's ensure_newline=True), never glued to a last line without a newline"},
	},
	Plan: planLine,
}

// wholeLine anchors a pattern to the whole line unless it is anchored
// already, as pyinfra does: "foo" becomes "^.*foo.*$".
func wholeLine(pattern string) string {
	if !strings.HasPrefix(pattern, "^") {
		pattern = "^.*" + pattern
	}
	if !strings.HasSuffix(pattern, "$") {
		pattern += ".*$"
	}
	return pattern
}

// The file is read and edited here (Go regular expressions, RE2 syntax,
// which covers the POSIX extended syntax deploys use) and written back
// whole: planning and editing cannot disagree on which lines match, no sed
// escaping is involved, and the change shows as a diff.
func planLine(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	if args.Bool("interpolate_variables") {
		// The line and its replacement as pyinfra's double quotes give
		// them to grep and sed.
		args = maps.Clone(args)
		for _, k := range []string{"line", "replace"} {
			if v := args.String(k); v != "" {
				x, err := ShellExpand.Get(ctx, h, v)
				if err != nil {
					return nil, err
				}
				args[k] = x
			}
		}
	}
	pattern := args.String("line")
	if args.Bool("escape_regex_characters") {
		pattern = regexp.QuoteMeta(pattern)
	}
	prefix := ""
	// sed's flags, as one word or a list ("gi", ["g", "i"]), as pyinfra.
	for _, f := range strings.Split(strings.Join(args.Strings("flags"), ""), "") {
		switch f {
		case "i", "I":
			prefix = "(?i)"
		case "g":
		default:
			return nil, fmt.Errorf("flags: %q is not supported (g, i, I are)", f)
		}
	}
	re, err := regexp.Compile(prefix + wholeLine(pattern))
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	contents, err := FileContents.Get(ctx, h, p)
	if err != nil {
		return nil, err
	}
	var old string
	exists := contents != nil
	if exists {
		old = *contents
	}
	text := args.String("line")
	if r := args.String("replace"); r != "" {
		text = r
	}
	var updated string
	if !exists {
		if !args.Bool("present") {
			return &operations.Plan{}, nil
		}
		updated = text + "\n"
	} else {
		updated = editLines(old, re, args.Bool("present"), args.String("replace"), text)
		if updated == old {
			return &operations.Plan{}, nil
		}
	}
	return rewrite(p, contents, updated, args.Bool("backup")), nil
}

// rewrite plans writing updated to p, whose content is old (nil: p is
// missing), first copying p to p.TIMESTAMP with backup.
func rewrite(p string, old *string, updated string, backup bool) *operations.Plan {
	plan := &operations.Plan{}
	if old != nil && backup {
		plan.Steps = append(plan.Steps, cmd("cp", "-p", p, p+"."+now().UTC().Format("2006-01-02-15-04-05")))
	}
	b := []byte(updated)
	// The connectors' Put replaces the file atomically and keeps its
	// owner and mode.
	plan.Steps = append(plan.Steps, &operations.Upload{
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		Dest: p,
		Src:  "(edited " + p + ")",
	})
	oldLabel, oldText := p, ""
	if old == nil {
		oldLabel = "/dev/null"
	} else {
		oldText = *old
	}
	plan.Diff = udiff.Unified(oldLabel, p, oldText, updated)
	return plan
}

// editLines applies files.line to content: with present, lines matching
// re become replace (when given), or text is appended when none matches
// (and, with replace, no line is replace already); without present,
// matching lines are removed.
func editLines(content string, re *regexp.Regexp, present bool, replace, text string) string {
	if content == "" {
		if present {
			return text + "\n"
		}
		return content
	}
	trailing := strings.HasSuffix(content, "\n")
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	var out []string
	matched, hasReplace := false, false
	for _, l := range lines {
		if replace != "" && l == replace {
			hasReplace = true
		}
		if !re.MatchString(l) {
			out = append(out, l)
			continue
		}
		matched = true
		switch {
		case !present:
		case replace != "":
			out = append(out, replace)
		default:
			out = append(out, l)
		}
	}
	if present && !matched && !hasReplace {
		out = append(out, text)
		trailing = true
	}
	if len(out) == 0 {
		return ""
	}
	s := strings.Join(out, "\n")
	if trailing {
		s += "\n"
	}
	return s
}
