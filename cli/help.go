package cli

// Help that teaches: `goinfra help VERB`, `goinfra VERB --help` and
// `goinfra INVENTORY VERB --help` show that verb's help with examples;
// `goinfra help files.put` and `goinfra help server.Os` show an
// operation's or a fact's arguments; an unknown topic, verb or flag is a
// usage error with a "did you mean".

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/operations"
)

// verbHelp is the help of a word that follows the inventory.
type verbHelp struct {
	name    string
	short   string
	usage   string
	long    string
	example string
	// flags are the flags that matter most for the verb.
	flags []string
}

var escalationFlags = []string{"sudo", "sudo-user", "su-user", "doas", "doas-user", "sudo-password-prompt"}

var verbHelps = []verbHelp{
	{
		name:  "exec",
		short: "run one command on every host",
		usage: "goinfra [flags] INVENTORY exec -- CMD [ARG…]",
		long: `One word after "--" is a shell command line, run as written (pipes, $VARS,
&&); several words are run as exactly that argv, each quoted for the host's
shell. Output lines are prefixed with the host ("[web1] ..."): the command's
stdout on stdout, its stderr on stderr. With --json, one JSON line per host
on stdout: host, success, exit_code, stdout, stderr, duration_s, error, and
stdout_base64/stderr_base64 holding the bytes when the output is not UTF-8.

Exit status: 0 the command succeeded on every host, 1 it failed (non-zero
exit, timeout, connection) on at least one, 2 bad usage or input (nothing
ran), 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.`,
		example: `  goinfra @local exec -- uname -a
  goinfra @local exec -- 'echo $HOME; id -un'
  goinfra web1,web2 --sudo exec -- systemctl restart nginx
  goinfra inventory.star --limit web --timeout 30 exec -- df -h /
  goinfra --json @docker/alpine:3.19 exec -- cat /etc/os-release
  goinfra @local --dry --sudo exec -- echo 'a b'      # print the wrapped command, run nothing
  goinfra inventory.star --shard 2/3 --json exec -- uptime > shard-2.jsonl   # one of 3 controllers
  goinfra merge shard-1.jsonl shard-2.jsonl shard-3.jsonl                  # one run's output and exit status`,
		flags: append([]string{"dry", "json", "limit", "shard", "timeout", "remote-chdir", "shell-executable", "data", "parallel", "serial", "fail-percent", "verbose"}, escalationFlags...),
	},
	{
		name:  "fact",
		short: "gather facts and print them as JSON",
		usage: "goinfra [flags] INVENTORY fact NAME [k=v…] [NAME [k=v…]]…",
		long: `Prints {host: {fact: value}} as indented JSON, the same shape for one fact or
many; a fact with arguments is keyed "files.File path=/etc/hosts". A word
with "=" is an argument of the fact before it. A host whose facts failed
gets an "error" beside the facts it did gather and fails the run (exit
status 1). With --json, one line per host: host, success, facts, error.
"goinfra help NAME" shows a fact's arguments.`,
		example: `  goinfra @local fact server.Os
  goinfra @local fact server.Os files.File path=/etc/hosts
  goinfra web1,web2 --sudo fact files.FileContents path=/etc/shadow`,
		flags: append([]string{"json", "limit", "shard", "data", "parallel", "verbose"}, escalationFlags...),
	},
	{
		name:  "debug-inventory",
		short: "show hosts, groups and data (secrets masked)",
		usage: "goinfra [flags] INVENTORY debug-inventory",
		long: `Loads the inventory as a run would (target strings or a Starlark file,
group_data/, --data, --limit) and shows every host with its kind, groups and
data, each value with the layer it came from. Connects to nothing.`,
		example: `  goinfra inventory.star debug-inventory
  goinfra inventory.star --limit web --data ssh_user=deploy debug-inventory
  goinfra --json web1,@local debug-inventory
  goinfra inventory.star --shard 1/3 debug-inventory   # the hosts controller 1 of 3 runs`,
		flags: []string{"json", "limit", "shard", "data", "ssh-user", "ssh-port", "ssh-key"},
	},
	{
		name:  "deploy",
		short: "run the operations Starlark deploy files declare",
		usage: "goinfra [flags] INVENTORY DEPLOY.star [MORE.star…]",
		long: `Loads the deploy files (mistakes are reported with file, line and a
suggestion before anything connects), connects, plans every operation on
every host, shows the plan, asks for confirmation on a terminal (not with -y
or without a terminal), runs the changes and shows the results. config.star
beside the first file (or --config FILE) sets defaults (SUDO = True,
PARALLEL = 10). With --json, one line per host when the deploy ends.

Exit status: 0 every host succeeded, 1 a host failed, 2 a mistake in the
deploy or its arguments (nothing changed), 3 the changes were declined at
the prompt (nothing changed), 129/130/143 stopped by a signal.`,
		example: `  goinfra inventory.star deploy.star
  goinfra inventory.star deploy.star --dry --diff   # show changes, change nothing
  goinfra --json -y web1,web2 deploy.star           # one JSON line per host`,
		flags: append([]string{"dry", "diff", "yes", "no-wait", "json", "limit", "shard", "data", "parallel", "serial", "fail-percent", "verbose", "config", "debug-operations", "debug-facts"}, escalationFlags...),
	},
	{
		name:  "operations",
		short: "run one operation from the command line",
		usage: "goinfra [flags] INVENTORY MODULE.OPERATION [ARG…] [k=v…]",
		long: `Runs one operation as a deploy of that operation alone: plan, confirm, run.
Arguments come as pyinfra takes them: key=value words, positional words
(filling the operation's arguments in the order "goinfra help
MODULE.OPERATION" lists them), or one JSON word [[positional…], {k: v…}].
A word is key=value only when the text before "=" is a name. Values are
text for string arguments, else typed as --data values (true/false,
integers, JSON, else text); global arguments (_sudo=true) apply to it.`,
		example: `  goinfra @local files.put src=a dest=/tmp/a
  goinfra @local server.shell 'echo hi'
  goinfra @local server.shell '[["echo hi"], {"_timeout": 30}]'
  goinfra web1 -y files.line /etc/hosts '10.0.0.5 db' _sudo=true
  goinfra @local --dry files.directory path=/tmp/x mode=750`,
		flags: append([]string{"dry", "diff", "yes", "json", "limit", "shard", "data", "parallel"}, escalationFlags...),
	},
}

func lookupVerb(name string) (verbHelp, bool) {
	for _, v := range verbHelps {
		if v.name == name {
			return v, true
		}
	}
	return verbHelp{}, false
}

// operationWords are the words handled by runInventory itself.
var operationWords = []string{"exec", "fact", "debug-inventory"}

// topicFor is the help topic of a word: a verb, "deploy" for a deploy
// file, an operation or fact name as it is; "" when the word is none.
func topicFor(w string) string {
	switch {
	case slices.Contains(operationWords, w):
		return w
	case strings.HasSuffix(w, ".star"):
		return "deploy"
	}
	if _, ok := operations.Lookup(w); ok {
		return w
	}
	if _, ok := facts.Lookup(w); ok {
		return w
	}
	return ""
}

// installHelp replaces cobra's help command and help flag handling.
func (a *app) installHelp(root *cobra.Command) {
	cobraHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c != root {
			cobraHelp(c, args)
			return
		}
		// --help anywhere before "--": the verb is the first positional
		// word (goinfra exec --help) or the one after the inventory.
		pos := c.Flags().Args()
		if d := c.Flags().ArgsLenAtDash(); d >= 0 {
			pos = pos[:d]
		}
		for _, w := range pos[:min(2, len(pos))] {
			if t := topicFor(w); t != "" {
				if a.writeTopic(c, t) == nil {
					return
				}
			}
		}
		cobraHelp(c, args)
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [TOPIC]",
		Short: "help on a verb (exec, fact, deploy, operations, debug-inventory, connectors, merge), an operation or a fact",
		Args:  cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, t := range a.topics(root) {
				if len(args) == 0 && strings.HasPrefix(t, prefix) {
					out = append(out, t)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return root.Help()
			}
			topic := args[0]
			if sub, _, err := root.Find([]string{topic}); err == nil && sub != root {
				return sub.Help()
			}
			if strings.HasSuffix(topic, ".star") {
				topic = "deploy"
			}
			if err := a.writeTopic(root, topic); err == nil {
				return nil
			}
			msg := fmt.Sprintf("no help topic %q", topic)
			if s := suggest.Nearest(topic, a.topics(root)); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return usageErr("%s; topics: %s, or an operation or fact name", msg, strings.Join(a.commandTopics(root), ", "))
		},
	})
}

// commandTopics are the verbs and commands, for messages.
func (a *app) commandTopics(root *cobra.Command) []string {
	var out []string
	for _, v := range verbHelps {
		out = append(out, v.name)
	}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			out = append(out, c.Name())
		}
	}
	return out
}

// topics are every help topic: verbs, commands, operations and facts.
func (a *app) topics(root *cobra.Command) []string {
	out := a.commandTopics(root)
	out = append(out, operations.Names()...)
	return append(out, facts.Names()...)
}

var errNoTopic = fmt.Errorf("no such help topic")

// writeTopic prints the help of a verb, an operation or a fact.
func (a *app) writeTopic(root *cobra.Command, topic string) error {
	w := a.io.Stdout
	if v, ok := lookupVerb(topic); ok {
		fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s\n\n%s\n\nExamples:\n%s\n", v.name, v.short, v.usage, v.long, v.example)
		switch v.name {
		case "fact":
			fmt.Fprintf(w, "\nFacts:\n%s\n", wrapList(facts.Names()))
		case "operations":
			fmt.Fprintf(w, "\n%s", operationsList())
		}
		writeFlags(w, root, v.flags)
		return nil
	}
	if op, ok := operations.Lookup(topic); ok {
		writeOperation(w, op)
		return nil
	}
	if f, ok := facts.Lookup(topic); ok {
		writeFact(w, f)
		return nil
	}
	return errNoTopic
}

// wrapList lays names out in indented lines of about 80 columns.
func wrapList(names []string) string {
	var b strings.Builder
	line := " "
	for i, n := range names {
		if i < len(names)-1 {
			n += ","
		}
		if len(line)+1+len(n) > 80 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + n
	}
	b.WriteString(line)
	return b.String()
}

// writeFlags lists the named flags, with the same text as --help.
func writeFlags(w io.Writer, root *cobra.Command, names []string) {
	fs := pflag.NewFlagSet("verb", pflag.ContinueOnError)
	for _, n := range names {
		f := root.Flags().Lookup(n)
		if f == nil {
			f = root.PersistentFlags().Lookup(n)
		}
		if f != nil {
			fs.AddFlag(f)
		}
	}
	fs.SortFlags = false
	fmt.Fprintf(w, "\nFlags that matter here (every flag: goinfra --help):\n%s", fs.FlagUsages())
}

func writeOperation(w io.Writer, op *operations.Op) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  goinfra [flags] INVENTORY %s [k=v…]\n  %s(k=v, …) in a deploy file\n\nArguments:\n", op.Name, op.Description, op.Name, op.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, arg := range opArgsInfo(op) {
		req := ""
		if arg.Required {
			req = ", required"
		} else if arg.Default != nil {
			req = ", default " + defaultText(arg.Default)
		}
		fmt.Fprintf(tw, "  %s\t%s%s: %s\n", arg.Name, arg.Type, req, arg.Description)
	}
	tw.Flush()
	if op.ExtraArgs {
		fmt.Fprintln(w, "  (other arguments are passed on as they are)")
	}
	fmt.Fprintln(w, "\nGlobal arguments (_sudo=true, _timeout=30, …) apply too: goinfra connectors lists them.")
}

func typeName(t connector.Type) string {
	if s := t.String(); s != "" {
		return s
	}
	return "any"
}

func writeFact(w io.Writer, f *facts.Fact) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  goinfra [flags] INVENTORY fact %s", f.Name, f.Description, f.Name)
	for _, arg := range f.Args {
		if slices.Contains(f.Required, arg) {
			fmt.Fprintf(w, " %s=…", arg)
		} else {
			fmt.Fprintf(w, " [%s=…]", arg)
		}
	}
	fmt.Fprintln(w)
	if len(f.Required) > 0 {
		fmt.Fprintf(w, "\nRequired arguments: %s\n", strings.Join(f.Required, ", "))
	}
}

// unknownFlag turns cobra's "unknown flag" error into one that helps: a
// flag one typo away from a known one is suggested; a flag after the exec
// word, with no "--" on the command line, was most likely meant for the
// command.
func (a *app) unknownFlag(c *cobra.Command, err error) error {
	msg := err.Error()
	var token, name string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		name = strings.TrimPrefix(msg, "unknown flag: --")
		token = "--" + name
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// unknown shorthand flag: 'x' in -xyz
		if i := strings.LastIndex(msg, " in "); i >= 0 {
			token = msg[i+4:]
		}
	default:
		return usageErr("%v", err)
	}
	var hints []string
	at := slices.IndexFunc(a.args, func(s string) bool { return s == token || strings.HasPrefix(s, token+"=") })
	execAt := slices.Index(a.args, "exec")
	forCommand := at > execAt && execAt >= 0 && !slices.Contains(a.args, "--")
	if forCommand {
		hints = append(hints, `for the command, put it after "--": goinfra INVENTORY exec -- CMD…`)
	}
	if name != "" {
		var names []string
		c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if s := suggest.Nearest(name, names); s != "" {
			if forCommand {
				hints = append(hints, "for goinfra, did you mean --"+s+"?")
			} else {
				hints = append(hints, "did you mean --"+s+"?")
			}
		}
		for _, sub := range c.Commands() {
			if sub.Flags().Lookup(name) != nil {
				hints = append(hints, fmt.Sprintf("--%s is a flag of goinfra %s", name, sub.Name()))
			}
		}
	}
	if len(hints) == 0 {
		hints = append(hints, "see goinfra --help")
	}
	return usageErr("%v (%s)", err, strings.Join(hints, "; "))
}

// unknownVerb explains a word that is neither an operation nor a
// command: a typo of one, or a verb given without an inventory.
func unknownVerb(spec string, words []string) error {
	commands := []string{"connectors", "ops", "merge", "version", "help", "completion"}
	if len(words) == 0 {
		if slices.Contains(operationWords, spec) {
			return usageErr("%s needs an inventory before it (usage: goinfra [flags] INVENTORY %s …; see goinfra help %s)", spec, spec, spec)
		}
		if s := suggest.Nearest(spec, commands); s != "" && plainWord(spec) {
			return usageErr("unknown command %q (did you mean goinfra %s?)", spec, s)
		}
		if s := suggest.Nearest(spec, operationWords); s != "" && plainWord(spec) {
			return usageErr("no operation given after the inventory %q (did you mean %s? it follows an inventory: goinfra INVENTORY %s …)", spec, s, s)
		}
		return usageErr("no operation given after the inventory %q (exec, fact, debug-inventory, a deploy file or an operation; see goinfra --help)", spec)
	}
	w := words[0]
	if slices.Contains(commands, w) {
		return usageErr("%s takes no inventory (usage: goinfra %s)", w, w)
	}
	if s := suggest.Nearest(w, operationWords); s != "" {
		return usageErr("unknown operation %q (did you mean %s?)", w, s)
	}
	return usageErr("unknown operation %q (exec, fact, debug-inventory, a deploy file or an operation; see goinfra --help)", w)
}

// plainWord reports whether an inventory spec is one bare word: no
// target list, kind, path or file.
func plainWord(s string) bool {
	return !strings.ContainsAny(s, "@,/.:")
}
