package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
)

// app is one invocation of goinfra.
type app struct {
	io          IO
	flags       flags
	out         *printer
	stdinReader *bufio.Reader
	// reported holds the hosts exec has printed a result for.
	reported sync.Map
	// connectorPath is --connector-path (see external.go).
	connectorPath []string
	// discoverOnce registers the external connector programs at most once.
	discoverOnce sync.Once
	// args are the command line as given, for error messages.
	args []string
	// chdirBack is the working directory before --chdir, "" when it was
	// not given.
	chdirBack string
	// config is the --config file's settings, nil without --config.
	config *deploy.Config
	// shardFrom says where the shard came from: "--shard" or
	// "GOINFRA_SHARD".
	shardFrom string
}

// operation runs the words after the inventory (words[0] is its name:
// "exec", "fact", ...). dash is the index in words of the first word that
// came after "--", or -1.
type operation func(ctx context.Context, c *cobra.Command, inv *inventory.Inventory, words []string, dash int) error

// operations are the words that may follow the inventory. Deploy files
// and single operations (files.put ...) are added here as they arrive.
func (a *app) operations() map[string]operation {
	return map[string]operation{
		"exec":            a.exec,
		"fact":            a.fact,
		"debug-inventory": a.debugInventory,
	}
}

const usageLine = "goinfra [flags] INVENTORY OPERATIONS…"

func (a *app) command() *cobra.Command {
	root := &cobra.Command{
		Use:   usageLine,
		Short: "goinfra runs commands on many hosts over SSH, Docker, chroot and more",
		Long: `goinfra runs commands, gathers facts and moves files on many hosts at once,
over SSH, Docker, Podman, chroot or this machine — a Go take on pyinfra's connectors.

INVENTORY is a comma-separated list of target strings (web1,@local,@docker/alpine:3.19)
or a Starlark inventory file (inventory.star). Image targets use images the
engine has: goinfra does not pull (docker pull alpine:3.19 first). OPERATIONS
is one of:

  exec -- CMD [ARG…]      run one command on every host (one argument: a shell
                          command line; several: run exactly that argv)
  fact NAME [k=v…] …      gather facts, print {host: {fact: value}} as JSON
  debug-inventory         show hosts, groups and data (secrets masked)
  deploy.star [more.star…]  run the operations Starlark deploy files declare
                          (plan, confirm unless -y, run; --dry, --diff)
  files.put k=v …         run one operation (key=value, positional or JSON
                          arguments, as pyinfra takes them)

Reserved first words (no inventory): connectors, ops, merge, version, help, completion.
--shard K/N (or GOINFRA_SHARD) runs one of N parts of the inventory, split by
host name, for N controllers; "goinfra merge" joins their --json output.
"goinfra help exec" (fact, deploy, operations, debug-inventory) shows a
verb's help with examples, as does "goinfra exec --help"; "goinfra help
files.put" an operation's arguments, "goinfra help files.File" a fact's;
"goinfra ops" lists every operation with its arguments.

Exit status: 0 all hosts succeeded, 1 a host failed, 2 bad usage or input
(nothing was run), 3 changes declined at the prompt (nothing was changed),
129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.`,
		Example: `  goinfra @local exec -- uname -a
  goinfra web1,web2 --sudo exec -- systemctl restart nginx
  goinfra @local fact server.Os files.File path=/etc/hosts
  goinfra --json @docker/alpine:3.19 exec -- cat /etc/os-release
  goinfra connectors --markdown
  goinfra inventory.star --shard 2/3 --json exec -- uptime > shard-2.jsonl`,
		Version:       versionLine(),
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          a.runInventory,
	}
	root.SetVersionTemplate("goinfra {{.Version}}\n")
	root.Flags().SetInterspersed(true)
	a.addFlags(root)
	a.addExternalFlags(root)
	a.addDeployFlags(root)
	root.PersistentPreRunE = a.registerExternal
	root.SetFlagErrorFunc(a.unknownFlag)
	a.installHelp(root)
	root.ValidArgsFunction = a.completeArgs
	if completing(a.args) {
		a.registerFlagCompletions(root)
	}
	root.AddCommand(a.connectorsCommand(), a.opsCommand(), a.mergeCommand(), a.genDocsCommand(), &cobra.Command{
		Use:   "version",
		Short: "print goinfra's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(a.io.Stdout, "goinfra %s\n", versionLine())
			return nil
		},
	})
	a.out = a.newPrinter()
	return root
}

// runInventory handles `goinfra [flags] INVENTORY OPERATIONS…`.
func (a *app) runInventory(c *cobra.Command, args []string) error {
	dash := c.ArgsLenAtDash()
	if len(args) == 0 || dash == 0 {
		return usageErr("no inventory given (usage: %s; see goinfra --help)", usageLine)
	}
	spec, words := args[0], args[1:]
	if dash > 0 {
		dash--
	}
	if len(words) == 0 || dash == 0 {
		return unknownVerb(spec, nil)
	}
	op, ok := a.operations()[words[0]]
	if !ok && deploy.IsDeployWord(words[0]) {
		// Deploy files and single operations (files.put k=v): checked
		// before the inventory is loaded.
		d, err := a.loadDeploy(words, dash)
		if err != nil {
			return err
		}
		op, ok = d, true
	}
	if !ok {
		return unknownVerb(spec, words)
	}
	ctx := c.Context()
	// Check the operation's own arguments before anything is loaded.
	if err := checkWords(words); err != nil {
		return err
	}
	if err := a.checkOperation(words, dash); err != nil {
		return err
	}
	if a.flags.config != "" {
		cfg, err := deploy.LoadConfig(a.flags.config)
		if err != nil {
			return a.inputErr(err)
		}
		a.config = &cfg
	}
	invOpts, err := a.inventoryOptions(c)
	if err != nil {
		return a.inputErr(err)
	}
	inv, err := a.loadInventory(ctx, spec, invOpts)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return a.inputErr(err)
	}
	for _, w := range inv.Warnings {
		a.out.Log(colorYellow, "goinfra: warning: "+w)
	}
	if sh := invOpts.Shard; sh.N > 1 {
		if len(inv.Hosts) == 0 {
			// More shards than hosts, or hosts that all hash elsewhere:
			// this controller has nothing to do, which is not a failure.
			a.info(colorGreen, fmt.Sprintf("goinfra: shard %d/%d (%s) holds none of the hosts: nothing to do", sh.K, sh.N, a.shardFrom))
			return nil
		}
		// Said every time: a GOINFRA_SHARD left in an environment must
		// not narrow a run unnoticed.
		a.info(colorDim, fmt.Sprintf("goinfra: shard %d/%d (%s): %d hosts", sh.K, sh.N, a.shardFrom, len(inv.Hosts)))
	}
	if len(inv.Hosts) == 0 && words[0] != "debug-inventory" {
		return usageErr("no hosts in %q (after --limit)", spec)
	}
	return op(ctx, c, inv, words, dash)
}

// inputErr is bad input found before connecting: exit status 2.
func (a *app) inputErr(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err // already decided (an interrupted prompt)
	}
	return &exitError{code: ExitUsage, err: err}
}

// checkOperation validates an operation's words without running it.
func (a *app) checkOperation(words []string, dash int) error {
	switch words[0] {
	case "exec":
		cmd, err := execCommand(words, dash)
		if err != nil {
			return usageErr("%v", err)
		}
		return checkCommandSize(cmd, "")
	case "fact":
		if _, err := parseFacts(words[1:]); err != nil {
			return usageErr("%v", err)
		}
	case "debug-inventory":
		if len(words) > 1 {
			return usageErr("debug-inventory takes no arguments, given %q", words[1])
		}
	}
	return nil
}

// finish turns a run's outcome into the exit status: 130 when ctx was
// interrupted, 1 when any host failed.
func (a *app) finish(ctx context.Context, run *engine.Run, stopErr error) error {
	closeErr := run.Close(ctx)
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	failed := run.Failed()
	total := len(run.Hosts())
	if stopErr != nil && errors.Is(stopErr, engine.ErrFailPercent) {
		a.out.Log(colorRed, "goinfra: run stopped: "+stopErr.Error())
	}
	if closeErr != nil && len(failed) == 0 {
		return &exitError{code: ExitFailed, err: fmt.Errorf("disconnecting: %w", closeErr)}
	}
	if len(failed) > 0 {
		a.out.Log(colorRed, fmt.Sprintf("goinfra: %d of %d hosts failed: %s", len(failed), total, hostNames(failed)))
		return &exitError{code: ExitFailed}
	}
	if a.flags.verbose > 0 || total > 1 {
		a.info(colorGreen, fmt.Sprintf("goinfra: %d of %d hosts succeeded", total, total))
	}
	return nil
}

// info writes a run-log line that --quiet leaves out.
func (a *app) info(color, line string) {
	if !a.flags.quiet {
		a.out.Log(color, line)
	}
}

func hostNames(hs []*engine.Host) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	return strings.Join(names, ", ")
}
