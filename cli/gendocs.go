package cli

// `goinfra gen-docs man|markdown DIR` writes man pages or the Markdown
// reference (docs/reference/) from the command tree with cobra/doc: one
// page for goinfra, one per verb (exec, fact, deploy, operations,
// debug-inventory) and one per command. The command is hidden: it is for
// packagers (scripts/release.sh) and for regenerating docs/reference/, not
// for daily use. The pages carry no generation date (man pages take
// SOURCE_DATE_EPOCH's month, as cobra does), so the same tree gives the
// same bytes.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/goinfra-dev/goinfra/facts"
)

func (a *app) genDocsCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs man|markdown DIR",
		Short:  "write man pages or the Markdown reference into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []cobra.Completion{"man", "markdown"}, noFiles
			}
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(c *cobra.Command, args []string) error {
			format, dir := args[0], args[1]
			if format != "man" && format != "markdown" {
				return usageErr("gen-docs: unknown format %q (man or markdown)", format)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return &exitError{code: ExitFailed, err: fmt.Errorf("gen-docs: %w", err)}
			}
			if err := writeDocs(format, dir); err != nil {
				return &exitError{code: ExitFailed, err: fmt.Errorf("gen-docs: %w", err)}
			}
			return nil
		},
	}
}

// writeDocs writes goinfra's man pages (format "man": goinfra.1,
// goinfra-exec.1, …) or Markdown reference (format "markdown":
// goinfra.md, goinfra_exec.md, …) into dir, which must exist.
func writeDocs(format, dir string) error {
	root, usages := docTree(format)
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root || c.IsAdditionalHelpTopicCommand() {
			return
		}
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range cmds {
		var buf bytes.Buffer
		var name string
		switch format {
		case "man":
			name = strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
			hdr := &doc.GenManHeader{Title: strings.ToUpper(strings.TrimSuffix(name, ".1")), Section: "1", Source: "goinfra", Manual: "goinfra manual"}
			if err := doc.GenMan(c, hdr, &buf); err != nil {
				return err
			}
		case "markdown":
			name = strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
			if err := doc.GenMarkdown(c, &buf); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown format %q (man or markdown)", format)
		}
		out := buf.Bytes()
		if u, ok := usages[c]; ok {
			out = fixSynopsis(out, format, c.UseLine(), u)
		}
		if format == "man" {
			out = roffASCII(out)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fixSynopsis puts a verb's real usage line where cobra wrote the
// command path ("goinfra exec"): a verb follows an inventory, which a
// cobra command cannot say.
func fixSynopsis(page []byte, format, useLine, usage string) []byte {
	old, repl := "\\fB"+useLine+"\\fP", "\\fB"+usage+"\\fP"
	if format == "markdown" {
		old, repl = "```\n"+useLine+"\n```", "```\n"+usage+"\n```"
	}
	return bytes.Replace(page, []byte(old), []byte(repl), 1)
}

// roffASCII writes the characters beyond ASCII (…, —) as groff's
// \[uXXXX] escapes: troff reads bytes, and not every man reads UTF-8.
func roffASCII(page []byte) []byte {
	var b bytes.Buffer
	for _, r := range string(page) {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		}
	}
	return b.Bytes()
}

// docTree is the command tree the pages are made of: goinfra's, with the
// completion command cobra adds when it runs, and a command per verb
// (never run: verbs are words after the inventory) holding the verb's
// help and the flags that matter for it. usages are the verbs' usage
// lines.
func docTree(format string) (root *cobra.Command, usages map[*cobra.Command]string) {
	a := &app{io: IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}}
	root = a.command()
	root.DisableAutoGenTag = true
	root.InitDefaultCompletionCmd()
	usages = map[*cobra.Command]string{}
	for _, v := range verbHelps {
		long := v.long
		switch v.name {
		case "fact":
			long += "\n\nFacts (goinfra help NAME shows one):\n\n" + wrapList(facts.Names())
		case "operations":
			long += "\n\n" + strings.TrimSuffix(operationsList(), "\n")
		}
		vc := &cobra.Command{
			Use:                   v.name,
			Short:                 v.short,
			Long:                  long,
			Example:               v.example,
			DisableFlagsInUseLine: true,
			Run:                   func(*cobra.Command, []string) {},
		}
		for _, n := range v.flags {
			if f := root.PersistentFlags().Lookup(n); f != nil {
				// A copy: cobra lists a parent's own flag as inherited.
				local := *f
				vc.Flags().AddFlag(&local)
			}
		}
		root.AddCommand(vc)
		usages[vc] = v.usage
	}
	// Both formats go through Markdown: the help texts' indented lines
	// are meant as preformatted, and <kind> is not an HTML tag.
	var fix func(c *cobra.Command)
	fix = func(c *cobra.Command) {
		c.Long = markdownText(c.Long)
		if format == "man" {
			// Man pages render flag usages as Markdown text too
			// (the Markdown reference puts them in a code block).
			c.LocalFlags().VisitAll(func(f *pflag.Flag) { f.Usage = markdownText(f.Usage) })
		}
		for _, sub := range c.Commands() {
			fix(sub)
		}
	}
	fix(root)
	return root, usages
}

// markdownText makes help text Markdown that renders as the text reads:
// indented lines (tables of verbs, lists of names) become preformatted
// blocks, and "<" is escaped outside them.
func markdownText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "\t"): // already a code block (cobra's completion help)
		case strings.HasPrefix(l, "  "):
			lines[i] = "  " + l
		default:
			lines[i] = strings.ReplaceAll(l, "<", `\<`)
		}
	}
	return strings.Join(lines, "\n")
}
