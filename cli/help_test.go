//go:build unix

package cli_test

import (
	"strings"
	"testing"
)

// Per-verb help (issue 16, item 3): the same text however it is asked
// for, with examples, on stdout, exit status 0.
func TestVerbHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // in the output, in this order
	}{
		{[]string{"help", "exec"}, []string{"exec: run one command on every host", "goinfra [flags] INVENTORY exec -- CMD", "Examples:", "goinfra @local exec -- uname -a", "--timeout"}},
		{[]string{"exec", "--help"}, []string{"exec: run one command on every host", "Examples:"}},
		{[]string{"@local", "exec", "--help"}, []string{"exec: run one command on every host", "Examples:"}},
		{[]string{"--limit", "web", "@local", "exec", "-h"}, []string{"exec: run one command on every host"}},
		{[]string{"help", "fact"}, []string{"fact: gather facts", "Examples:", "Facts:", "server.Os"}},
		{[]string{"@local", "fact", "--help"}, []string{"fact: gather facts"}},
		{[]string{"help", "debug-inventory"}, []string{"debug-inventory: show hosts", "Examples:"}},
		{[]string{"help", "deploy"}, []string{"deploy: run the operations", "Examples:", "--dry"}},
		{[]string{"@local", "deploy.star", "--help"}, []string{"deploy: run the operations"}},
		{[]string{"help", "operations"}, []string{"operations: run one operation", "Operations (goinfra ops", "  files\n", "    files.put(src*: string, dest*: string"}},
		{[]string{"help", "files.put"}, []string{"files.put: ", "Arguments:", "src", "required"}},
		{[]string{"@local", "files.put", "--help"}, []string{"files.put: ", "Arguments:"}},
		{[]string{"help", "server.Os"}, []string{"server.Os: ", "goinfra [flags] INVENTORY fact server.Os"}},
		{[]string{"help", "files.File"}, []string{"fact files.File path=…"}},
		{[]string{"help", "connectors"}, []string{"goinfra connectors [flags]", "--markdown"}},
		{[]string{"help", "merge"}, []string{"Reads the --json output of several runs", "goinfra merge [FILE…]", "Examples:", "goinfra merge shard-*.jsonl"}},
		{[]string{"merge", "--help"}, []string{"Reads the --json output of several runs"}},
		{[]string{"help", "exec"}, []string{"--shard 2/3", "goinfra merge", "--shard K/N", "default $GOINFRA_SHARD"}},
		{[]string{"help"}, []string{"INVENTORY is a comma-separated", `"goinfra help exec"`}},
		{[]string{"--help"}, []string{"INVENTORY is a comma-separated"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := goinfra(t, nil, "", tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			rest := r.stdout
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("no %q (in order) in:\n%s", w, r.stdout)
				}
				rest = rest[i+len(w):]
			}
			// A verb's help is not the root help.
			if !strings.HasPrefix(tc.want[0], "INVENTORY") && strings.Contains(r.stdout, "INVENTORY is a comma-separated") {
				t.Errorf("the root help, not the verb's:\n%s", r.stdout)
			}
		})
	}
}

// Unknown topics, verbs and flags: exit status 2, one line, a suggestion.
func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nosuch"}, `no help topic "nosuch"`},
		{[]string{"help", "exce"}, "did you mean exec?"},
		{[]string{"help", "files.putt"}, "did you mean files.put?"},
		{[]string{"conectors"}, `unknown command "conectors" (did you mean goinfra connectors?)`},
		{[]string{"verison"}, "did you mean goinfra version?"},
		{[]string{"exec", "--", "true"}, "exec needs an inventory before it"},
		{[]string{"@local", "exce", "--", "true"}, `unknown operation "exce" (did you mean exec?)`},
		{[]string{"@local", "connectors"}, "connectors takes no inventory"},
		{[]string{"@local", "merge", "a.jsonl"}, "merge takes no inventory"},
		{[]string{"merg"}, `unknown command "merg" (did you mean goinfra merge?)`},
		{[]string{"@local", "ops"}, "ops takes no inventory"},
		{[]string{"ops", "filez"}, `no operation module "filez" (did you mean files?)`},
		{[]string{"--shard", "4/3", "@local", "exec", "--", "true"}, `--shard "4/3": want K/N`},
		{[]string{"--sudoo", "@local", "exec", "--", "true"}, "unknown flag: --sudoo (did you mean --sudo?)"},
		{[]string{"@local", "exec", "--tiemout", "3", "--", "true"}, "did you mean --timeout?"},
		{[]string{"@local", "--jsno", "exec", "--", "true"}, "did you mean --json?"},
		{[]string{"--markdown"}, "--markdown is a flag of goinfra connectors"},
		// A flag after the command words was meant for the command.
		{[]string{"@local", "exec", "ls", "-la"}, `for the command, put it after "--"`},
		{[]string{"@local", "exec", "grep", "--count", "x"}, `for the command, put it after "--"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := goinfra(t, nil, "", tc.args...)
			if r.code != 2 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q", r.code, r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "goinfra: error: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("want one error line with %q, got %q", tc.want, r.stderr)
			}
		})
	}
	// The flag hint is not given when "--" is there: the flag was before it.
	r := goinfra(t, nil, "", "@local", "exec", "--sudoo", "--", "true")
	if strings.Contains(r.stderr, "put it after") || !strings.Contains(r.stderr, "did you mean --sudo?") {
		t.Errorf("hint for a flag before --: %q", r.stderr)
	}
}

// Completion of help topics: verbs, operations and facts by prefix.
func TestHelpTopicCompletion(t *testing.T) {
	r := goinfra(t, nil, "", "__complete", "help", "files.p")
	if r.code != 0 || !strings.Contains(r.stdout, "files.put\n") || strings.Contains(r.stdout, "exec\n") || strings.Contains(r.stdout, "files.File\n") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	r = goinfra(t, nil, "", "__complete", "help", "")
	if !strings.Contains(r.stdout, "exec\n") || !strings.Contains(r.stdout, "server.Os\n") || !strings.Contains(r.stdout, "connectors\n") {
		t.Errorf("all topics: %q", r.stdout)
	}
}
