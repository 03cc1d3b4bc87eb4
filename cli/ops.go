package cli

// `goinfra ops [MODULE…]` lists every registered operation with its
// arguments, grouped by module; `goinfra help operations` and the
// operations page of the reference (gen-docs) show the same list.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/operations"
)

// opsLegend says how to read the listing's signatures.
const opsLegend = `In a signature:
  name*: type              a required argument
  name: type = default     an optional one and its default
  name: type               an optional one that is unset by default
  **other                  further arguments are passed on (template variables)
goinfra help MODULE.OP describes each argument.`

type opModuleInfo struct {
	Name       string   `json:"name"`
	Operations []opInfo `json:"operations"`
}

type opInfo struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Arguments   []opArgInfo `json:"arguments"`
	// ExtraArguments: arguments it does not declare are passed on.
	ExtraArguments bool `json:"extra_arguments"`
}

type opArgInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Default     any    `json:"default"`
	Description string `json:"description"`
	LocalPath   bool   `json:"local_path,omitempty"`
}

func opArgsInfo(op *operations.Op) []opArgInfo {
	out := make([]opArgInfo, len(op.Args))
	for i, a := range op.Args {
		def := a.Default
		if d, ok := def.(time.Duration); ok {
			def = d.Seconds()
		}
		out[i] = opArgInfo{Name: a.Name, Type: typeName(a.Type), Required: a.Required, Default: def, Description: a.Description, LocalPath: a.LocalPath}
	}
	return out
}

// opModules is the registry's listing, narrowed to the named modules
// (all when none is named).
func opModules(names []string) ([]opModuleInfo, error) {
	mods := operations.Modules()
	known := make([]string, len(mods))
	for i, m := range mods {
		known[i] = m.Name
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			msg := fmt.Sprintf("ops: no operation module %q", n)
			if s := suggest.Nearest(n, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return nil, usageErr("%s; modules: %s", msg, strings.Join(known, ", "))
		}
	}
	var out []opModuleInfo
	for _, m := range mods {
		if len(names) > 0 && !slices.Contains(names, m.Name) {
			continue
		}
		mi := opModuleInfo{Name: m.Name}
		for _, op := range m.Ops {
			mi.Operations = append(mi.Operations, opInfo{Name: op.Name, Description: op.Description, Arguments: opArgsInfo(op), ExtraArguments: op.ExtraArgs})
		}
		out = append(out, mi)
	}
	return out, nil
}

// writeOpList writes every module's operations as signatures,
// files.put(src*: string, dest*: string, user: string, force: bool =
// false, …), wrapped near 80 columns; every line starts with indent.
func writeOpList(w io.Writer, mods []opModuleInfo, indent string) {
	for i, m := range mods {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s%s\n", indent, m.Name)
		for _, op := range m.Operations {
			parts := make([]string, 0, len(op.Arguments)+1)
			for _, a := range op.Arguments {
				parts = append(parts, argSignature(a))
			}
			if op.ExtraArguments {
				parts = append(parts, "**other")
			}
			// The width does not count indent: the list breaks the same
			// alone and inside help.
			writeWrapped(w, 80+len(indent), indent+"  ", indent+"      ", op.Name+"(", parts, ")")
		}
	}
}

// argSignature is one argument as the listing shows it.
func argSignature(a opArgInfo) string {
	switch {
	case a.Required:
		return a.Name + "*: " + a.Type
	case a.Default != nil:
		return a.Name + ": " + a.Type + " = " + defaultText(a.Default)
	}
	return a.Name + ": " + a.Type
}

// writeWrapped writes open, parts joined by ", " and closing, breaking
// lines before a part that would pass width columns.
func writeWrapped(w io.Writer, width int, first, cont, open string, parts []string, closing string) {
	line := first + open
	fresh := true // nothing after open or the continuation indent yet
	for i, p := range parts {
		if i < len(parts)-1 {
			p += ","
		} else {
			p += closing
		}
		sep := " "
		if fresh {
			sep = ""
		}
		if !fresh && len(line)+len(sep)+len(p) > width {
			fmt.Fprintln(w, line)
			line, sep = cont, ""
		}
		line += sep + p
		fresh = false
	}
	if len(parts) == 0 {
		line += closing
	}
	fmt.Fprintln(w, line)
}

func (a *app) opsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ops [MODULE…]",
		Short: "list every operation with its arguments, by module",
		Long: `Lists the operations goinfra has (all, or those of the named modules), each
as a signature of its arguments in the order positional arguments fill
them. With --json, one JSON document: {"modules": [{"name", "operations":
[{"name", "description", "arguments": [{"name", "type", "required",
"default", "description"}], "extra_arguments"}]}]}.

` + opsLegend,
		Example: `  goinfra ops
  goinfra ops files server
  goinfra --json ops | jq -r '.modules[].operations[].name'`,
		ValidArgsFunction: func(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, m := range operations.Modules() {
				if strings.HasPrefix(m.Name, prefix) && !slices.Contains(args, m.Name) {
					out = append(out, cobra.CompletionWithDesc(m.Name, fmt.Sprintf("%d operations", len(m.Ops))))
				}
			}
			return out, noFiles
		},
		RunE: func(c *cobra.Command, args []string) error {
			mods, err := opModules(args)
			if err != nil {
				return err
			}
			if a.flags.json {
				return a.printJSON(map[string]any{"modules": mods})
			}
			writeOpList(a.io.Stdout, mods, "")
			return nil
		},
	}
}

// operationsList is the list `goinfra help operations` and its reference
// page end with: `goinfra ops`'s, indented, under its legend.
func operationsList() string {
	mods, _ := opModules(nil)
	var b strings.Builder
	fmt.Fprintf(&b, "Operations (goinfra ops lists them alone, --json for a program):\n%s\n\n", opsLegend)
	writeOpList(&b, mods, "  ")
	return b.String()
}
