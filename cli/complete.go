package cli

// Shell completion (bash, zsh, fish, PowerShell: `goinfra completion
// SHELL`) of `goinfra [flags] INVENTORY VERB …`. Cobra's completion
// scripts call the hidden __complete command, which parses the flags as a
// run would and hands the positional words here:
//
//	goinfra <TAB>                    inventory files, @kind targets, ssh hosts
//	goinfra inv.star <TAB>           exec, fact, debug-inventory, operations, deploy files
//	goinfra inv.star fact <TAB>      fact names, then the fact's arguments (path=)
//	goinfra inv.star files.put <TAB> the operation's arguments (src=, dest=, …)
//	goinfra inv.star exec <TAB>      "--", then local files for the command
//
// Everything is read from the registries (connector kinds, operations,
// facts), so a program that registers its own gets them completed too.
// Nothing here connects anywhere or runs an inventory.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/runargs"
)

// completing reports whether args run cobra's completion command: only
// then are the flag completion functions registered, because cobra keeps
// them in a process-wide table that would otherwise grow with every Run.
func completing(args []string) bool {
	return len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
}

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeArgs is the root command's ValidArgsFunction.
func (a *app) completeArgs(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	switch len(args) {
	case 0:
		return a.completeInventory(ctx, toComplete)
	case 1:
		return a.completeVerb(toComplete)
	}
	verb, words := args[1], args[2:]
	switch {
	case verb == "exec":
		if !a.dashAfter("exec") {
			return []cobra.Completion{cobra.CompletionWithDesc("--", "the command follows")}, noFiles
		}
		// The command and its arguments: the shell's own file completion.
		return nil, cobra.ShellCompDirectiveDefault
	case verb == "fact":
		out := completeFactWords(words, toComplete)
		return out, noSpaceAfter(out)
	case verb == "debug-inventory":
		return nil, noFiles
	case strings.HasSuffix(verb, ".star"):
		return a.localFiles(toComplete, ".star")
	}
	if op, ok := operations.Lookup(verb); ok {
		return a.completeOpWords(op, words, toComplete)
	}
	return nil, noFiles
}

// dashAfter reports whether "--" follows word among the words before the
// one being completed. (Cobra's ArgsLenAtDash cannot tell: __complete
// parses the words a second time with a "--" added at the end.)
func (a *app) dashAfter(word string) bool {
	if len(a.args) < 2 {
		return false
	}
	words := a.args[1 : len(a.args)-1]
	w := slices.Index(words, word)
	return w >= 0 && slices.Contains(words[w+1:], "--")
}

// completeInventory completes the first word: a comma-separated list of
// targets or an inventory file. The item after the last comma is
// completed.
func (a *app) completeInventory(ctx context.Context, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	head, item := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		head, item = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	if rest, ok := strings.CutPrefix(item, "@"); ok {
		a.discoverExternal(ctx)
		kind, arg, hasArg := strings.Cut(rest, "/")
		if !hasArg {
			out = kindForms(kind)
		} else if drv, ok := connector.Lookup(kind); ok {
			if ac, ok := drv.(connector.ArgCompleter); ok {
				for _, s := range ac.CompleteArg(ctx, arg) {
					out = append(out, "@"+kind+"/"+s)
				}
			}
		}
	} else {
		if head == "" {
			files, _ := a.localFiles(item, ".star")
			out = append(out, files...)
		}
		if item == "" {
			out = append(out, kindForms("")...)
		}
		if drv, ok := connector.Lookup(connector.DefaultKind); ok {
			if ac, ok := drv.(connector.ArgCompleter); ok {
				out = append(out, ac.CompleteArg(ctx, item)...)
			}
		}
	}
	for i := range out {
		out[i] = head + out[i]
	}
	return out, noSpaceAfter(out)
}

// kindForms are the "@kind" and "@kind/" target forms of the registered
// kinds whose name begins with prefix.
func kindForms(prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, kind := range connector.Kinds() {
		if !strings.HasPrefix(kind, prefix) {
			continue
		}
		drv, _ := connector.Lookup(kind)
		desc := ""
		if d, ok := drv.(connector.Describer); ok {
			desc = d.Description()
		}
		bare, withArg := true, true // unknown: both may work
		usage := "…"
		if ta, ok := drv.(connector.TargetArger); ok {
			var optional bool
			usage, optional = ta.TargetArg()
			bare, withArg = usage == "" || optional, usage != ""
		}
		if bare {
			out = append(out, cobra.CompletionWithDesc("@"+kind, desc))
		}
		if withArg {
			out = append(out, cobra.CompletionWithDesc("@"+kind+"/", "@"+kind+"/<"+usage+">: "+desc))
		}
	}
	return out
}

// completeVerb completes the word after the inventory.
func (a *app) completeVerb(toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, w := range operationWords {
		if v, ok := lookupVerb(w); ok && strings.HasPrefix(w, toComplete) {
			out = append(out, cobra.CompletionWithDesc(w, v.short))
		}
	}
	for _, name := range operations.Names() {
		if strings.HasPrefix(name, toComplete) {
			op, _ := operations.Lookup(name)
			out = append(out, cobra.CompletionWithDesc(name, op.Description))
		}
	}
	files, _ := a.localFiles(toComplete, ".star")
	out = append(out, files...)
	return out, noSpaceAfter(out)
}

// completeFactWords completes after "fact": fact names and, after one,
// the arguments it takes that are not given yet.
func completeFactWords(words []string, toComplete string) []cobra.Completion {
	var cur *facts.Fact
	given := map[string]bool{}
	for _, w := range words {
		if k, _, ok := strings.Cut(w, "="); ok {
			given[k] = true
			continue
		}
		cur, _ = facts.Lookup(w)
		clear(given)
	}
	var out []cobra.Completion
	if cur != nil && !strings.Contains(toComplete, "=") {
		for _, arg := range cur.Args {
			if !given[arg] && strings.HasPrefix(arg+"=", toComplete) {
				desc := "argument of " + cur.Name
				if slices.Contains(cur.Required, arg) {
					desc = "required argument of " + cur.Name
				}
				out = append(out, cobra.CompletionWithDesc(arg+"=", desc))
			}
		}
	}
	for _, name := range facts.Names() {
		if strings.HasPrefix(name, toComplete) {
			f, _ := facts.Lookup(name)
			out = append(out, cobra.CompletionWithDesc(name, f.Description))
		}
	}
	return out
}

// completeOpWords completes an operation's arguments: name= for each
// declared one not given yet (global arguments once "_" is typed), and
// values where they are known: true/false, local files.
func (a *app) completeOpWords(op *operations.Op, words []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	given := map[string]bool{}
	pos := 0
	for _, w := range words {
		if k, _, ok := strings.Cut(w, "="); ok && argName.MatchString(k) {
			given[k] = true
		} else if pos < len(op.Args) {
			given[op.Args[pos].Name] = true // filled by position
			pos++
		}
	}
	if k, v, ok := strings.Cut(toComplete, "="); ok && argName.MatchString(k) {
		return a.completeValue(op, k, v)
	}
	var out []cobra.Completion
	for _, arg := range op.Args {
		if !given[arg.Name] && strings.HasPrefix(arg.Name+"=", toComplete) {
			desc := typeName(arg.Type)
			if arg.Required {
				desc += ", required"
			}
			out = append(out, cobra.CompletionWithDesc(arg.Name+"=", desc+": "+arg.Description))
		}
	}
	if strings.HasPrefix(toComplete, "_") {
		for _, k := range runargs.Keys {
			if !given[k.Name] && !k.Secret && strings.HasPrefix(k.Name+"=", toComplete) {
				out = append(out, cobra.CompletionWithDesc(k.Name+"=", "global argument: "+k.Description))
			}
		}
	}
	return out, noSpaceAfter(out)
}

// completeValue completes the value of the argument name after "name=".
func (a *app) completeValue(op *operations.Op, name, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var typ connector.Type
	local := false
	for _, arg := range op.Args {
		if arg.Name == name {
			typ, local = arg.Type, arg.LocalPath
		}
	}
	for _, k := range runargs.Keys {
		if k.Name == name {
			typ = k.Type
		}
	}
	var out []cobra.Completion
	switch {
	case local:
		files, _ := a.localFiles(prefix, "")
		out = files
	case typ == connector.Bool:
		for _, v := range []string{"true", "false"} {
			if strings.HasPrefix(v, prefix) {
				out = append(out, v)
			}
		}
	}
	for i := range out {
		out[i] = name + "=" + out[i]
	}
	return out, noSpaceAfter(out)
}

// localFiles lists the directories and files (only those ending in ext,
// when ext is given) whose path begins with prefix, relative to --chdir
// when it was given. Hidden ones are listed once a "." is typed.
func (a *app) localFiles(prefix, ext string) ([]cobra.Completion, cobra.ShellCompDirective) {
	dirPart, base := filepath.Split(prefix)
	dir := dirPart
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, rest)
		}
	}
	if dir == "" {
		dir = "."
	}
	if !filepath.IsAbs(dir) && a.flags.chdir != "" {
		dir = filepath.Join(a.flags.chdir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, noFiles
	}
	var out []cobra.Completion
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name)) // a symlink counts as what it points to
		if err != nil {
			continue
		}
		switch {
		case fi.IsDir():
			out = append(out, dirPart+name+"/")
		case ext == "" || strings.HasSuffix(name, ext):
			out = append(out, dirPart+name)
		}
	}
	return out, noSpaceAfter(out)
}

// noSpaceAfter is the directive for completions that the shell must not
// end with a space when one is chosen: a directory, "@kind/", "name=",
// where more is typed next. The directive is for the whole list, so it
// is only given when every completion wants it.
func noSpaceAfter(out []cobra.Completion) cobra.ShellCompDirective {
	if len(out) == 0 {
		return noFiles
	}
	for _, c := range out {
		w, _, _ := strings.Cut(c, "\t")
		if !strings.HasSuffix(w, "/") && !strings.HasSuffix(w, "=") {
			return noFiles
		}
	}
	return noFiles | cobra.ShellCompDirectiveNoSpace
}

// registerFlagCompletions completes the values of goinfra's flags.
func (a *app) registerFlagCompletions(root *cobra.Command) {
	fixed := func(words ...string) cobra.CompletionFunc {
		return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, w := range words {
				if strings.HasPrefix(w, toComplete) {
					out = append(out, w)
				}
			}
			return out, noFiles
		}
	}
	dirs := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	special := map[string]cobra.CompletionFunc{
		"data": a.completeData,
		"config": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return a.localFiles(toComplete, ".star")
		},
		"group-data":       dirs,
		"chdir":            dirs,
		"connector-path":   dirs,
		"shell-executable": fixed("sh", "bash", "zsh", "none"),
		"ssh-key":          nil, // the shell's file completion
		"key":              nil,
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" || f.Value.Type() == "count" {
			return
		}
		fn, ok := special[f.Name]
		if !ok {
			// Numbers, durations, remote users, passwords: nothing local
			// to offer.
			fn = fixed()
		}
		if fn != nil {
			_ = root.RegisterFlagCompletionFunc(f.Name, fn)
		}
	})
}

// completeData completes --data key=value: the global arguments and the
// data keys of every connector kind.
func (a *app) completeData(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if k, v, ok := strings.Cut(toComplete, "="); ok {
		for _, key := range allDataKeys() {
			if key.Name == k && key.Type == connector.Bool {
				var out []cobra.Completion
				for _, b := range []string{"true", "false"} {
					if strings.HasPrefix(b, v) {
						out = append(out, k+"="+b)
					}
				}
				return out, noFiles
			}
		}
		return nil, noFiles
	}
	var out []cobra.Completion
	for _, key := range allDataKeys() {
		if !key.Secret && strings.HasPrefix(key.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(key.Name+"=", key.Description))
		}
	}
	return out, noSpaceAfter(out)
}

// allDataKeys are the global arguments, then each kind's data keys,
// each name once.
func allDataKeys() []connector.DataKey {
	seen := map[string]bool{}
	var out []connector.DataKey
	add := func(keys []connector.DataKey) {
		for _, k := range keys {
			if !seen[k.Name] {
				seen[k.Name] = true
				out = append(out, k)
			}
		}
	}
	add(runargs.Keys)
	for _, kind := range connector.Kinds() {
		if d, ok := connector.Lookup(kind); ok {
			add(d.DataKeys())
		}
	}
	return out
}
