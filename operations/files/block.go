package files

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

var blockOp = operations.Op{
	Name:        "files.block",
	Description: "ensure lines between two marker lines are in a file (added or updated) or not (removed)",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "remote file"},
		{Name: "content", Type: connector.StringList, Description: "the lines between the markers (text with newlines, or a list of lines); needed when present"},
		argPresent,
		{Name: "line", Type: connector.String, Description: "regular expression of the line to add the block before or after (appended when no line matches)"},
		{Name: "backup", Type: connector.Bool, Default: false, Description: "copy the file to PATH.TIMESTAMP before changing it"},
		{Name: "escape_regex_characters", Type: connector.Bool, Default: false, Description: "line is literal text, not a regular expression"},
		{Name: "try_prevent_shell_expansion", Type: connector.Bool, Default: false, Description: "accepted for pyinfra compatibility: goinfra never passes content through a shell"},
		{Name: "before", Type: connector.Bool, Default: false, Description: "add a new block before line (without line: before and after both True prepend, both False append)"},
		{Name: "after", Type: connector.Bool, Default: false, Description: "add a new block after line"},
		{Name: "marker", Type: connector.String, Description: "the marker lines' text, {mark} standing for begin or end (default \"" + MarkerDefault + "\")"},
		{Name: "begin", Type: connector.String, Description: "{mark} of the first marker (default " + BeginDefault + ")"},
		{Name: "end", Type: connector.String, Description: "{mark} of the last marker (default " + EndDefault + ")"},
	},
	Plan: planBlock,
}

// A block is found and edited here, in Go, and the file written back
// whole, as files.line does: markers are text (not awk regular
// expressions), content never meets a shell, and the change shows as a
// diff.
func planBlock(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	begin, end, err := BlockArgs{Marker: args.String("marker"), Begin: args.String("begin"), End: args.String("end")}.Markers()
	if err != nil {
		return nil, err
	}
	present, before, after := args.Bool("present"), args.Bool("before"), args.Bool("after")
	var content []string
	// content="" is no content, as in pyinfra.
	if given := args.Strings("content"); len(given) != 1 || given[0] != "" {
		for _, c := range given {
			content = append(content, strings.Split(c, "\n")...)
		}
	}
	var re *regexp.Regexp
	if present {
		line := args.String("line")
		switch {
		case len(content) == 0:
			return nil, fmt.Errorf("content is needed when present=True")
		case line != "" && before == after:
			return nil, fmt.Errorf("line: give one of before=True or after=True")
		case line == "" && before != after:
			return nil, fmt.Errorf("before and after need line=; without it both True prepend the block, both False append it")
		case line != "":
			if args.Bool("escape_regex_characters") {
				line = regexp.QuoteMeta(line)
			}
			if re, err = regexp.Compile(wholeLine(line)); err != nil {
				return nil, fmt.Errorf("line: %w", err)
			}
		}
	}
	old, err := FileContents.Get(ctx, h, p)
	if err != nil {
		return nil, err
	}
	if old == nil && !present {
		return &operations.Plan{}, nil
	}
	var text string
	if old != nil {
		text = *old
	}
	updated, err := editBlock(text, old != nil, begin, end, content, present, re, before, after)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if old != nil && updated == text {
		return &operations.Plan{}, nil
	}
	return rewrite(p, old, updated, args.Bool("backup")), nil
}

// editBlock is files.block's change of a file's text (exists: the file
// is there, maybe empty).
func editBlock(text string, exists bool, begin, end string, content []string, present bool, re *regexp.Regexp, before, after bool) (string, error) {
	lines, trailing := splitLines(text)
	b, e := -1, -1
	for i, l := range lines {
		if b < 0 && strings.Contains(l, begin) {
			b = i
		} else if b >= 0 && strings.Contains(l, end) {
			e = i
			break
		}
	}
	if b >= 0 && e < 0 {
		return "", fmt.Errorf("the marker %q has no %q after it", begin, end)
	}
	if !present {
		if b < 0 {
			return text, nil
		}
		return joinLines(append(lines[:b:b], lines[e+1:]...), trailing), nil
	}
	if b >= 0 {
		if equal(lines[b+1:e], content) {
			return text, nil
		}
		out := append(append(append([]string{}, lines[:b+1]...), content...), lines[e:]...)
		return joinLines(out, trailing), nil
	}
	block := append(append([]string{begin}, content...), end)
	at := len(lines) // append
	switch {
	case !exists:
		return joinLines(block, true), nil
	case re == nil && before:
		at = 0
	case re != nil:
		for i, l := range lines {
			if re.MatchString(l) {
				at = i
				if after {
					at++
				}
				break
			}
		}
	}
	if at == len(lines) {
		trailing = true
	}
	out := append(append(append([]string{}, lines[:at]...), block...), lines[at:]...)
	return joinLines(out, trailing), nil
}

// splitLines splits text into lines, telling whether the last one ended
// with a newline.
func splitLines(text string) ([]string, bool) {
	if text == "" {
		return nil, false
	}
	trailing := strings.HasSuffix(text, "\n")
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n"), trailing
}

func joinLines(lines []string, trailing bool) string {
	if len(lines) == 0 {
		return ""
	}
	s := strings.Join(lines, "\n")
	if trailing {
		s += "\n"
	}
	return s
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
