package cli

import (
	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/engine"
)

// Input limits checked before anything runs, so that an oversized
// argument list is one clear error instead of a failure on every host.

// maxCommandBytes is the longest command line a host can run. Every
// connector hands the wrapped command to a shell as one argument (sshd
// runs `$SHELL -c CMD`; local, docker and chroot run `sh -c CMD`), and
// Linux takes at most MAX_ARG_STRLEN (32 pages, 131072 bytes with the
// final NUL) in one argument. The margin leaves room for what a connector
// puts around the command (the ssh connector's "echo $$; exec ").
const maxCommandBytes = 131071 - 1024

// maxWords bounds the words after the inventory: fact names and their
// arguments, deploy files, an operation's arguments. An exec command is
// bounded by its length instead.
const maxWords = 10000

func checkWords(words []string) error {
	if len(words) > maxWords && words[0] != "exec" {
		return usageErr("%s: %d arguments, more than the %d goinfra takes after the inventory", words[0], len(words)-1, maxWords)
	}
	return nil
}

// checkCommandSize rejects a command too long for a host's shell; host is
// "" for the command as given, else the host it was wrapped for.
func checkCommandSize(cmd command.Command, host string) error {
	n := len(cmd.Raw())
	if n <= maxCommandBytes {
		return nil
	}
	as := ""
	if host != "" {
		as = " as wrapped for " + host
	}
	return usageErr("exec: the command is %d bytes long%s, more than a host's shell takes as one command line (%d bytes, Linux's MAX_ARG_STRLEN): copy a script to the hosts (files.put) and run that instead",
		n, as, maxCommandBytes)
}

// checkWrappedSizes checks the command as each host will run it, with
// its escalation and environment around it.
func checkWrappedSizes(run *engine.Run, cmd command.Command) error {
	for _, h := range run.Hosts() {
		args, err := h.Args()
		if err != nil {
			continue // reported with the host's result
		}
		if err := checkCommandSize(args.Options.Unix.Wrap(cmd), h.Name); err != nil {
			return err
		}
	}
	return nil
}
