package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/internal/termecho"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/runargs"
)

// flags are goinfra's options; they may appear anywhere before "--".
type flags struct {
	verbose     int
	dry         bool
	yes         bool
	json        bool
	limit       []string
	shard       string
	failPercent float64
	data        []string
	parallel    int
	serial      bool
	noWait      bool
	noSendAhead bool

	sudo            bool
	sudoUser        string
	suUser          string
	doas            bool
	doasUser        string
	shellExecutable string
	chdir           string // the local working directory, as pyinfra's --chdir
	remoteChdir     string // the directory commands run in on the hosts (_chdir)
	timeout         string

	config    string
	groupData []string
	quiet     bool
	debug     bool
	// debugFacts and debugOperations plan a deploy, print what it found
	// or would do, and exit without changing anything.
	debugFacts      bool
	debugOperations bool

	sshUser        string
	sshPort        int
	sshKey         string
	sshKeyPassword string
	sshPassword    string

	sshPasswordPrompt   bool
	sudoPasswordPrompt  bool
	sudoPasswordPerHost bool
}

func (a *app) addFlags(c *cobra.Command) {
	f := &a.flags
	fs := c.PersistentFlags()
	fs.CountVarP(&f.verbose, "verbose", "v", "show more: -v debug log, -vv also echo commands, -vvv also stream all output")
	fs.BoolVar(&f.dry, "dry", false, "change nothing: exec prints the wrapped command per host and runs nothing")
	fs.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	fs.BoolVar(&f.json, "json", false, "machine-readable output: JSON Lines on stdout")
	fs.StringArrayVar(&f.limit, "limit", nil, "only hosts in this group or matching this glob (repeatable, comma-separated)")
	fs.StringVar(&f.shard, "shard", "", "run only shard `K/N` of the hosts (after --limit; default $GOINFRA_SHARD), split by host name; an empty shard does nothing, exit 0; goinfra merge joins the shards' --json output")
	fs.Float64Var(&f.failPercent, "fail-percent", 0, "stop the run when more than this percentage of hosts failed")
	fs.StringArrayVar(&f.data, "data", nil, "override host data: key=value (repeatable; true/false, integers and JSON are typed)")
	fs.IntVar(&f.parallel, "parallel", 0, fmt.Sprintf("hosts worked on at once (default %d)", engine.DefaultParallel))
	fs.BoolVar(&f.serial, "serial", false, "work on one host at a time")
	fs.BoolVar(&f.noWait, "no-wait", false, "deploys: hosts do not wait for each other between operations")
	fs.BoolVar(&f.noSendAhead, "no-send-ahead", false, "deploys: every command waits for the one before it (by default an operation's commands go to a host together, and with --no-wait those of the operations after it that cannot depend on them)")

	fs.BoolVar(&f.sudo, "sudo", false, "run commands with sudo")
	fs.StringVar(&f.sudoUser, "sudo-user", "", "user sudo switches to")
	fs.StringVar(&f.suUser, "su-user", "", "run commands with su as this user")
	fs.BoolVar(&f.doas, "doas", false, "run commands with doas")
	fs.StringVar(&f.doasUser, "doas-user", "", "user doas switches to")
	fs.StringVar(&f.shellExecutable, "shell-executable", "", `shell that wraps commands (default "sh"; "none": no shell)`)
	fs.StringVar(&f.chdir, "chdir", "", "change to this local directory first, as pyinfra does (inventory, deploy and config paths are relative to it)")
	fs.StringVar(&f.remoteChdir, "remote-chdir", "", "directory commands run in on the hosts (global argument _chdir)")
	fs.StringVar(&f.timeout, "timeout", "", "stop each command after this long (seconds, or a duration like 1m30s)")

	fs.StringVar(&f.sshUser, "ssh-user", "", "SSH user (host data ssh_user)")
	fs.IntVar(&f.sshPort, "ssh-port", 0, "SSH port (host data ssh_port)")
	fs.StringVar(&f.sshKey, "ssh-key", "", "SSH private key file (host data ssh_key)")
	fs.StringVar(&f.sshKeyPassword, "ssh-key-password", "", "passphrase of the SSH key (prefer GOINFRA_SSH_KEY_PASSWORD)")
	fs.StringVar(&f.sshPassword, "ssh-password", "", "SSH password (prefer GOINFRA_SSH_PASSWORD or --ssh-password-prompt)")
	// pyinfra's shorter names for the same flags.
	for _, alias := range sshAliases {
		long := fs.Lookup(alias.long)
		fs.AddFlag(&pflag.Flag{Name: alias.short, Usage: "same as --" + alias.long + " (pyinfra's name)", Value: long.Value, DefValue: long.DefValue})
	}

	fs.StringVar(&f.config, "config", "", "deploys: read defaults from this config file instead of config.star beside the first deploy file (exec and fact read it too)")
	fs.StringArrayVar(&f.groupData, "group-data", nil, "also read group data from DIR/<group>.star, overriding group_data/ (repeatable; later wins)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "show only results, warnings and errors: no plan and results tables, no progress")
	fs.BoolVar(&f.debug, "debug", false, "show goinfra's debug log (as -v, without its other effects)")
	fs.BoolVar(&f.debugFacts, "debug-facts", false, "deploys: plan, print the facts gathered as JSON, change nothing (exec: as --dry)")
	fs.BoolVar(&f.debugOperations, "debug-operations", false, "deploys: plan, print each host's operations and their commands, change nothing (exec: as --dry)")
	fs.BoolVar(&f.sshPasswordPrompt, "ssh-password-prompt", false, "ask for the SSH password once, before connecting")
	fs.BoolVar(&f.sudoPasswordPrompt, "sudo-password-prompt", false, "ask for the sudo password once for all hosts, before connecting")
	fs.BoolVar(&f.sudoPasswordPrompt, "use-sudo-password", false, "same as --sudo-password-prompt (pyinfra's name)")
	fs.BoolVar(&f.sudoPasswordPerHost, "sudo-password-per-host", false, "when sudo needs a password, ask for each host's own (default: one answer for all hosts)")
}

// sshAliases are pyinfra's short names of the --ssh-* flags.
var sshAliases = []struct{ short, long string }{
	{"user", "ssh-user"},
	{"port", "ssh-port"},
	{"key", "ssh-key"},
	{"key-password", "ssh-key-password"},
	{"password", "ssh-password"},
}

// changed reports whether the flag was given, under its name or under
// pyinfra's alias of it.
func changed(c *cobra.Command, name string) bool {
	if c.Flags().Changed(name) {
		return true
	}
	for _, alias := range sshAliases {
		if alias.long == name && c.Flags().Changed(alias.short) {
			return true
		}
	}
	return false
}

// inventoryOptions turns --data, --limit and the --ssh-* flags (and their
// environment variables and prompts) into inventory options.
func (a *app) inventoryOptions(c *cobra.Command) (inventory.Options, error) {
	f := &a.flags
	opts := inventory.Options{Data: map[string]any{}}
	shard, err := a.shard(c)
	if err != nil {
		return opts, err
	}
	opts.Shard = shard
	for _, kv := range f.data {
		k, v, err := inventory.ParseData(kv)
		if err != nil {
			return opts, err
		}
		opts.Data[k] = v
	}
	for _, l := range f.limit {
		for _, p := range strings.Split(l, ",") {
			if p = strings.TrimSpace(p); p != "" {
				opts.Limit = append(opts.Limit, p)
			}
		}
	}
	set := func(flag, key string, v any) {
		if changed(c, flag) {
			opts.Data[key] = v
		}
	}
	set("ssh-user", "ssh_user", f.sshUser)
	set("ssh-port", "ssh_port", f.sshPort)
	set("ssh-key", "ssh_key", f.sshKey)
	set("ssh-key-password", "ssh_key_password", f.sshKeyPassword)
	set("ssh-password", "ssh_password", f.sshPassword)
	opts.GroupData = f.groupData
	// Secrets from the environment, when no flag gave them.
	for env, key := range map[string]string{
		"GOINFRA_SSH_PASSWORD":     "ssh_password",
		"GOINFRA_SSH_KEY_PASSWORD": "ssh_key_password",
	} {
		if v := a.io.Getenv(env); v != "" {
			if _, given := opts.Data[key]; !given {
				opts.Data[key] = v
			}
		}
	}
	if f.sshPasswordPrompt {
		pw, err := a.prompt(c.Context(), "SSH password: ")
		if err != nil {
			return opts, err
		}
		opts.Data["ssh_password"] = pw
	}
	return opts, nil
}

// shard reads --shard, or GOINFRA_SHARD when the flag is not given (a
// Kubernetes Indexed Job or a CI matrix sets the variable per controller).
// A flag given empty is an error, not "every host": a wrapper whose
// variable is unset must not run the whole inventory on each controller.
func (a *app) shard(c *cobra.Command) (inventory.Shard, error) {
	if c.Flags().Changed("shard") {
		a.shardFrom = "--shard"
		return inventory.ParseShard(a.flags.shard)
	}
	v := a.io.Getenv("GOINFRA_SHARD")
	if v == "" {
		return inventory.Shard{}, nil
	}
	a.shardFrom = "GOINFRA_SHARD"
	s, err := inventory.ParseShard(v)
	if err != nil {
		return s, fmt.Errorf("GOINFRA_SHARD, the default of %w", err)
	}
	return s, nil
}

// runArgs turns the global-argument flags into the run's lowest layer of
// global arguments. Only flags the user gave count, so that host data
// (which beats flags) is not hidden by a flag's zero value.
func (a *app) runArgs(c *cobra.Command) (map[string]any, error) {
	f := &a.flags
	args := map[string]any{}
	set := func(flag, key string, v any) {
		if c.Flags().Changed(flag) {
			args[key] = v
		}
	}
	set("sudo", "_sudo", f.sudo)
	set("sudo-user", "_sudo_user", f.sudoUser)
	set("su-user", "_su_user", f.suUser)
	set("doas", "_doas", f.doas)
	set("doas-user", "_doas_user", f.doasUser)
	set("shell-executable", "_shell_executable", f.shellExecutable)
	set("remote-chdir", "_chdir", f.remoteChdir)
	if c.Flags().Changed("timeout") {
		d, err := parseSeconds(f.timeout)
		if err != nil {
			return nil, fmt.Errorf("--timeout %q: %w", f.timeout, err)
		}
		args["_timeout"] = d
	}
	// A user for sudo (doas) implies sudo (doas): alone the flag would do nothing.
	if f.sudoUser != "" && !c.Flags().Changed("sudo") {
		args["_sudo"] = true
	}
	if f.doasUser != "" && !c.Flags().Changed("doas") {
		args["_doas"] = true
	}
	if v := a.io.Getenv("GOINFRA_SUDO_PASSWORD"); v != "" {
		args["_sudo_password"] = v
	}
	if v := a.io.Getenv("GOINFRA_SU_PASSWORD"); v != "" {
		args["_su_password"] = v
	}
	if v := a.io.Getenv("GOINFRA_DOAS_PASSWORD"); v != "" {
		args["_doas_password"] = v
	}
	if f.sudoPasswordPrompt && !f.sudoPasswordPerHost {
		pw, err := a.prompt(c.Context(), "sudo password: ")
		if err != nil {
			return nil, err
		}
		args["_sudo_password"] = pw
	}
	// Check a copy: Check also fills in defaults, and a default here
	// would hide host data, which beats flags.
	checked := connector.Data{}
	for k, v := range args {
		checked[k] = v
	}
	if err := checked.Check("(command line)", runargs.Keys); err != nil {
		return nil, err
	}
	for k := range args {
		args[k] = checked[k]
	}
	return args, nil
}

// engineConfig builds the run configuration from the flags and, below
// them, the config file's settings (dc, nil for none).
func (a *app) engineConfig(c *cobra.Command, dc *deploy.Config) (engine.Config, error) {
	args, err := a.runArgs(c)
	if err != nil {
		return engine.Config{}, err
	}
	cfg := engine.Config{Parallel: a.flags.parallel, Args: args, Log: a.logger(),
		SudoPasswordPrompt: a.sudoPrompt, SudoPasswordPerHost: a.flags.sudoPasswordPerHost}
	if c.Flags().Changed("parallel") && a.flags.parallel <= 0 {
		return cfg, fmt.Errorf("--parallel %d: must be positive", a.flags.parallel)
	}
	if a.flags.serial {
		cfg.Parallel = 1
	}
	if c.Flags().Changed("fail-percent") {
		p := a.flags.failPercent
		if p < 0 || p > 100 {
			return cfg, fmt.Errorf("--fail-percent %g: must be between 0 and 100", p)
		}
		cfg.FailPercent = engine.Percent(p)
	}
	if dc != nil {
		for k, v := range dc.Args {
			if _, set := cfg.Args[k]; !set {
				cfg.Args[k] = v
			}
		}
		if dc.Parallel > 0 && !c.Flags().Changed("parallel") && !a.flags.serial {
			cfg.Parallel = dc.Parallel
		}
		if dc.FailPercent != nil && cfg.FailPercent == nil {
			cfg.FailPercent = dc.FailPercent
		}
	}
	return cfg, nil
}

// parseSeconds reads a duration as seconds ("1", "0.5") or Go syntax
// ("1m30s").
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 {
			return 0, fmt.Errorf("must be positive")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want seconds or a duration like 1m30s")
	}
	return d, nil
}

// prompt asks for a secret on the terminal without echoing it. Without a
// terminal it reads one line from standard input, so a secret can also be
// piped in (never given on a command line). An interrupt while asking
// gives the terminal back as it was.
func (a *app) prompt(ctx context.Context, label string) (string, error) {
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		fd := int(tty.Fd())
		if term.IsTerminal(fd) {
			return readSecret(ctx, tty, label)
		}
	}
	if a.stdinReader == nil {
		a.stdinReader = bufio.NewReader(a.io.Stdin)
	}
	line, err := a.stdinReader.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("%sno terminal and nothing on standard input", label)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readSecret reads one line from the terminal tty with echo off. Echo is
// turned off before the label is shown, so nothing typed early is echoed;
// the terminal is restored also when ctx ends first (an interrupt).
func readSecret(ctx context.Context, tty *os.File, label string) (string, error) {
	fd := int(tty.Fd())
	name := strings.TrimSuffix(label, ": ")
	restore, err := termecho.Quiet(fd)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	defer restore()
	fmt.Fprint(tty, label)
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(tty).ReadString('\n')
		got <- answer{line, err}
	}()
	select {
	case ans := <-got:
		fmt.Fprintln(tty)
		if ans.err != nil && ans.line == "" {
			return "", fmt.Errorf("reading %s: %w", name, ans.err)
		}
		return strings.TrimRight(ans.line, "\r\n"), nil
	case <-ctx.Done():
		fmt.Fprintln(tty)
		return "", interrupted(ctx)
	}
}

// changeDir does what pyinfra's --chdir does: it makes the directory the
// working directory before anything is read, so that the inventory,
// deploy, config and group data paths (and @local's commands) are
// relative to it. Run changes back when it returns.
func (a *app) changeDir() error {
	if a.flags.chdir == "" {
		return nil
	}
	back, err := os.Getwd()
	if err != nil {
		return usageErr("--chdir %s: %w", a.flags.chdir, err)
	}
	if err := os.Chdir(a.flags.chdir); err != nil {
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error()
		}
		return usageErr("--chdir %s: %s", a.flags.chdir, msg)
	}
	a.chdirBack = back
	return nil
}
