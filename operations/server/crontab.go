package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

// cronNamePrefix starts the comment that names an entry (cron_name): the
// same as pyinfra's, so either tool finds the other's named entries.
const cronNamePrefix = "# pyinfra-name="

var crontabOp = operations.Op{
	Name:        "server.crontab",
	Description: "add, change or remove a crontab entry",
	Args: []operations.Arg{
		{Name: "command", Type: connector.String, Required: true, Description: "the command; it identifies the entry unless cron_name is given"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the entry should exist"},
		{Name: "user", Type: connector.Any, Description: "whose crontab (None: the user commands run as)"},
		{Name: "cron_name", Type: connector.Any, Description: "a name for the entry (a comment above it), so that a changed command replaces it"},
		{Name: "minute", Type: connector.Any, Default: "*", Description: "minutes: a value, or a list of them"},
		{Name: "hour", Type: connector.Any, Default: "*", Description: "hours"},
		{Name: "month", Type: connector.Any, Default: "*", Description: "months"},
		{Name: "day_of_week", Type: connector.Any, Default: "*", Description: "days of the week"},
		{Name: "day_of_month", Type: connector.Any, Default: "*", Description: "days of the month"},
		{Name: "special_time", Type: connector.Any, Description: "@reboot, @daily, ...: used instead of the time fields"},
		{Name: "interpolate_variables", Type: connector.Bool, Default: false, Description: "accepted as False only: goinfra writes the command as given, never through the shell"},
	},
	Plan: planCrontab,
}

// cronEdit is what server.crontab changes in a crontab.
type cronEdit struct {
	// match is the command of the entry edited ("" to add one).
	match string
	// line replaces it (or is appended); "" removes it.
	line string
	// name is cron_name: its comment goes above an added entry, and is
	// removed with a removed one.
	name string
}

// cronValue is a time field as crontab writes it: a list joined by
// commas.
func cronValue(args connector.Data, name string) (string, error) {
	var parts []string
	switch v := args[name].(type) {
	case []any:
		for _, e := range v {
			parts = append(parts, fmt.Sprint(e))
		}
	case []string:
		parts = v
	case string, int, int64:
		parts = []string{fmt.Sprint(v)}
	default:
		return "", fmt.Errorf("%s: expected a value or a list, given %s", name, connector.TypeName(v))
	}
	s := strings.Join(parts, ",")
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return "", fmt.Errorf("%s: %q is not a crontab time field", name, s)
	}
	return s, nil
}

// sameCronField compares fields as numbers when both are ("00" is 0).
func sameCronField(want string, have CronField) bool {
	a, ok1 := cronInt(want)
	b, ok2 := cronInt(string(have))
	if ok1 && ok2 {
		return a == b
	}
	return want == string(have)
}

func planCrontab(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	cmd := args.String("command")
	if strings.TrimSpace(cmd) == "" || strings.ContainsAny(cmd, "\n\r") {
		return nil, fmt.Errorf("command: %q must be one non-empty line", cmd)
	}
	if args.Bool("interpolate_variables") {
		return nil, fmt.Errorf("interpolate_variables: goinfra writes the command as given (True is not supported)")
	}
	user, err := opargs.String(args, "user")
	if err != nil {
		return nil, err
	}
	if _, err := crontabList(user); err != nil {
		return nil, err
	}
	name, err := opargs.String(args, "cron_name")
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(name, "\n\r") {
		return nil, fmt.Errorf("cron_name: %q must be one line", name)
	}
	special, err := opargs.String(args, "special_time")
	if err != nil {
		return nil, err
	}
	var times []string
	for _, f := range []string{"minute", "hour", "day_of_month", "month", "day_of_week"} {
		v, err := cronValue(args, f)
		if err != nil {
			return nil, err
		}
		times = append(times, v)
	}
	line := strings.Join(append(times, cmd), " ")
	if special != "" {
		if !strings.HasPrefix(special, "@") || strings.ContainsAny(special, " \t\n") {
			return nil, fmt.Errorf("special_time: %q is not a crontab nickname (@reboot, @daily, ...)", special)
		}
		line = special + " " + cmd
	}

	entries, err := Crontab.Get(ctx, h, user)
	if err != nil {
		return nil, err
	}
	match, existing := cmd, entries[cmd]
	if existing == nil && name != "" {
		for c, e := range entries {
			if slices.Contains(e.Comments, cronNamePrefix+name) {
				match, existing = c, e
				break
			}
		}
	}
	edit := cronEdit{match: match, name: name}
	switch present := args.Bool("present"); {
	case !present && existing != nil:
	case present && existing == nil:
		edit.match, edit.line = "", line
	case present && existing != nil:
		same := match == cmd
		if special != "" {
			same = same && existing.SpecialTime == special
		} else {
			have := []CronField{existing.Minute, existing.Hour, existing.DayOfMonth, existing.Month, existing.DayOfWeek}
			same = same && existing.SpecialTime == ""
			for i, t := range times {
				same = same && sameCronField(t, have[i])
			}
		}
		if same {
			return &operations.Plan{}, nil
		}
		edit.line = line
	default:
		return &operations.Plan{}, nil
	}
	return &operations.Plan{Steps: []operations.Step{crontabStep(user, edit)}}, nil
}

// crontabStep reads the crontab when it runs, edits it and installs the
// result through crontab's standard input: no temporary file, no sed, and
// the rest of the crontab as it is then.
func crontabStep(user string, e cronEdit) operations.Step {
	who := "crontab"
	if user != "" {
		who += " of " + user
	}
	var desc string
	switch {
	case e.match == "":
		desc = "add to the " + who + ": " + strconv.Quote(e.line)
	case e.line == "":
		desc = "remove from the " + who + ": " + strconv.Quote(e.match)
	default:
		desc = "change in the " + who + ": " + strconv.Quote(e.match) + " to " + strconv.Quote(e.line)
	}
	return &operations.Func{Desc: desc, Do: func(ctx context.Context, conn connector.Conn, opts connector.Options) error {
		list, _ := crontabList(user) // checked while planning
		read := opts
		read.SuccessExitCodes = []int{0, 1}
		res, err := conn.Run(ctx, list, read)
		if err != nil {
			return err
		}
		current := res.Output.Stdout()
		if res.ExitCode == 1 {
			// "no crontab for USER" is an empty crontab; anything
			// else is an error.
			if !strings.Contains(res.Output.Stderr(), "no crontab") {
				return fmt.Errorf("%s: %s", list.String(), strings.TrimSpace(res.Output.Stderr()))
			}
			current = ""
		}
		install := command.Args("crontab")
		if user != "" {
			install = command.Args("crontab", "-u", user)
		}
		write := opts
		write.Stdin = strings.NewReader(EditCrontab(current, e.match, e.line, e.name))
		_, err = conn.Run(ctx, install.Append("-"), write)
		return err
	}}
}

// EditCrontab edits crontab text: the entry of command match becomes
// line, or is removed when line is ""; with match "", line is appended
// (below the comment naming it name, when name is given). A removed
// entry's name comment goes with it.
func EditCrontab(text, match, line, name string) string {
	var lines []string
	if t := strings.TrimRight(text, "\n"); t != "" {
		lines = strings.Split(t, "\n")
	}
	if match == "" {
		if name != "" {
			if len(lines) > 0 {
				lines = append(lines, "")
			}
			lines = append(lines, cronNamePrefix+name)
		}
		lines = append(lines, line)
		return strings.Join(lines, "\n") + "\n"
	}
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			out = append(out, l)
			continue
		}
		if _, c, ok := parseCronLine(t); !ok || c != match {
			out = append(out, l)
			continue
		}
		if line != "" {
			out = append(out, line)
			continue
		}
		if name != "" && len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == cronNamePrefix+name {
			out = out[:len(out)-1]
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}
