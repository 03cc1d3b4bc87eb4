package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/runargs"
)

// kindInfo is what `goinfra connectors` shows of one kind.
type kindInfo struct {
	Kind        string    `json:"kind"`
	Description string    `json:"description,omitempty"`
	Executes    bool      `json:"executes"`
	Keys        []keyInfo `json:"data"`
}

type keyInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     any    `json:"default"`
	Description string `json:"description"`
	Secret      bool   `json:"secret,omitempty"`
}

func keysInfo(keys []connector.DataKey) []keyInfo {
	out := make([]keyInfo, len(keys))
	for i, k := range keys {
		def := k.Default
		if d, ok := def.(time.Duration); ok {
			def = d.Seconds()
		}
		out[i] = keyInfo{Name: k.Name, Type: k.Type.String(), Default: def, Description: k.Description, Secret: k.Secret}
	}
	return out
}

func kinds() []kindInfo {
	var out []kindInfo
	for _, name := range connector.Kinds() {
		d, ok := connector.Lookup(name)
		if !ok {
			continue
		}
		k := kindInfo{Kind: name, Executes: connector.Executes(d), Keys: keysInfo(d.DataKeys())}
		if desc, ok := d.(connector.Describer); ok {
			k.Description = desc.Description()
		}
		out = append(out, k)
	}
	return out
}

func (a *app) connectorsCommand() *cobra.Command {
	var markdown bool
	c := &cobra.Command{
		Use:   "connectors",
		Short: "list connector kinds with the data keys they read, and the global arguments",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ks := kinds()
			global := keysInfo(runargs.Keys)
			switch {
			case a.flags.json:
				return a.printJSON(map[string]any{"connectors": ks, "global_arguments": global})
			case markdown:
				writeMarkdown(a.io.Stdout, ks, global)
			default:
				writeText(a.io.Stdout, ks, global)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&markdown, "markdown", false, "render Markdown tables")
	return c
}

func defaultText(v any) string {
	if v == nil {
		return "-"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func kindTitle(k kindInfo) string {
	role := "executes commands"
	if !k.Executes {
		role = "inventory only"
	}
	if k.Description != "" {
		return fmt.Sprintf("%s — %s (%s)", k.Kind, k.Description, role)
	}
	return fmt.Sprintf("%s (%s)", k.Kind, role)
}

func writeText(w io.Writer, ks []kindInfo, global []keyInfo) {
	section := func(title string, keys []keyInfo) {
		fmt.Fprintln(w, title)
		if len(keys) == 0 {
			fmt.Fprintln(w, "  (no data keys)")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KEY\tTYPE\tDEFAULT\tDESCRIPTION")
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", k.Name, k.Type, defaultText(k.Default), k.Description)
		}
		tw.Flush()
	}
	for _, k := range ks {
		section(kindTitle(k), k.Keys)
		fmt.Fprintln(w)
	}
	section("global arguments (any host, as host data, --data or flags)", global)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func writeMarkdown(w io.Writer, ks []kindInfo, global []keyInfo) {
	table := func(keys []keyInfo) {
		if len(keys) == 0 {
			fmt.Fprintln(w, "No data keys.")
			return
		}
		fmt.Fprintln(w, "| key | type | default | description |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, k := range keys {
			fmt.Fprintf(w, "| `%s` | %s | `%s` | %s |\n", k.Name, k.Type, mdEscape(defaultText(k.Default)), mdEscape(k.Description))
		}
	}
	for _, k := range ks {
		fmt.Fprintf(w, "### %s\n\n", k.Kind)
		if k.Description != "" {
			fmt.Fprintf(w, "%s.\n\n", strings.TrimSuffix(k.Description, "."))
		}
		if k.Executes {
			fmt.Fprintln(w, "Executes commands.")
		} else {
			fmt.Fprintln(w, "Inventory only: its hosts are run by the ssh connector.")
		}
		fmt.Fprintln(w)
		table(k.Keys)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "### Global arguments\n\n")
	table(global)
}

// inventoryRecord is one --json line of debug-inventory: one host.
type inventoryRecord struct {
	Host    string          `json:"host"`
	Kind    string          `json:"kind"`
	Groups  []string        `json:"groups"`
	Data    json.RawMessage `json:"data"`
	Sources json.RawMessage `json:"sources"`
}

func (a *app) debugInventory(_ context.Context, _ *cobra.Command, inv *inventory.Inventory, _ []string, _ int) error {
	if !a.flags.json {
		a.out.Raw(inv.Describe())
		return nil
	}
	// The inventory's own encoding masks secrets; it is cut into one line
	// per host, as every verb's --json output is.
	b, err := json.Marshal(inv)
	if err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("encoding JSON: %w", err)}
	}
	var doc struct {
		Hosts []struct {
			Name    string          `json:"name"`
			Kind    string          `json:"kind"`
			Groups  []string        `json:"groups"`
			Data    json.RawMessage `json:"data"`
			Sources json.RawMessage `json:"sources"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("encoding JSON: %w", err)}
	}
	for _, h := range doc.Hosts {
		a.jsonLine(inventoryRecord{Host: h.Name, Kind: h.Kind, Groups: h.Groups, Data: h.Data, Sources: h.Sources})
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
