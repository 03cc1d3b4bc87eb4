package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/report"
)

// mergeCommand is `goinfra merge [FILE…]`: the --json output of shard runs
// (--shard K/N) joined into the output of one run; the work is in package
// report.
func (a *app) mergeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "merge [FILE…]",
		Short: "merge the --json output of shard runs (--shard K/N) into one run's output",
		Long: `Reads the --json output of several runs of one command over disjoint hosts
(the shards of one inventory: --shard 1/3, 2/3, 3/3), from each FILE or from
standard input ("-", or no FILE), and writes one report: every line as it
was read, in host-name order, then exits with the status one run over all
the hosts would have had: 1 when a host failed, 2 for an exec --dry in which
a host's arguments were wrong, else 0. The run log (stderr) counts the
failed hosts as a run does. A shard with no hosts contributes an empty file.

Each run's own exit status still matters: a shard that exited 2 (bad
input) or 130 (interrupted) wrote no line for hosts it never reached.

Exit status 2, nothing written: a line that is not a goinfra --json line
(named by file and line number), a host in two inputs (a shard given
twice), or lines of different commands.

See docs/sharding.md for shards on a Kubernetes Indexed Job or a CI matrix.`,
		Example: `  goinfra --shard 1/3 --json inventory.star exec -- uptime > shard-1.jsonl
  goinfra --shard 2/3 --json inventory.star exec -- uptime > shard-2.jsonl
  goinfra --shard 3/3 --json inventory.star exec -- uptime > shard-3.jsonl
  goinfra merge shard-*.jsonl > report.jsonl
  cat shard-*.jsonl | goinfra merge`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, files []string) error { return a.merge(files) },
	}
}

func (a *app) merge(files []string) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	var reports [][]report.Line
	stdin := false
	for _, name := range files {
		lines, err := a.readReport(name, &stdin)
		if err != nil {
			return err
		}
		reports = append(reports, lines)
	}
	merged, err := report.Merge(reports...)
	if err != nil {
		return usageErr("merge: %v", err)
	}
	if err := report.Write(a.io.Stdout, merged); err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("merge: writing: %w", err)}
	}
	code := report.ExitStatus(merged)
	if len(merged) > 0 && merged[0].Kind != report.ExecDry && merged[0].Kind != report.DebugInventory {
		// The run log's last line, as one run over every host ends.
		if failed := report.Failed(merged); len(failed) > 0 {
			a.out.Log(colorRed, fmt.Sprintf("goinfra: %d of %d hosts failed: %s", len(failed), len(merged), strings.Join(failed, ", ")))
		} else if len(merged) > 1 {
			a.info(colorGreen, fmt.Sprintf("goinfra: %d of %d hosts succeeded", len(merged), len(merged)))
		}
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// readReport reads one input of merge: a file, or standard input for "-"
// (at most once: it cannot be read twice).
func (a *app) readReport(name string, stdin *bool) ([]report.Line, error) {
	var r io.Reader
	label := name
	if name == "-" {
		if *stdin {
			return nil, usageErr("merge: standard input (-) given twice")
		}
		*stdin = true
		r, label = a.io.Stdin, "(stdin)"
	} else {
		f, err := os.Open(name)
		if err != nil {
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			return nil, usageErr("merge: %s: %v", name, err)
		}
		defer f.Close()
		r = f
	}
	lines, err := report.Read(r, label)
	if err != nil {
		return nil, usageErr("merge: %v", err)
	}
	return lines, nil
}
