package server

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// ZoneInfo is where the time zone files are.
const ZoneInfo = "/usr/share/zoneinfo"

// zoneName: a tz database name (Europe/Paris, Etc/GMT+1, UTC).
var zoneName = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)

// Timezone is the host's time zone: the zone /etc/localtime links to,
// else /etc/timezone's (Debian), else /var/db/zoneinfo's (FreeBSD's
// tzsetup, which copies the zone's file to /etc/localtime); "" when none
// tells.
var Timezone = facts.NewPlain(facts.Fact{
	Name:        "server.Timezone",
	Description: "the time zone (where /etc/localtime links to in " + ZoneInfo + ", else /etc/timezone, else FreeBSD's /var/db/zoneinfo), null when unknown",
	Command: func(facts.Args) (command.Command, error) {
		return command.Shell("if test -L /etc/localtime; then readlink /etc/localtime; elif test -f /etc/timezone; then cat /etc/timezone; elif test -f /var/db/zoneinfo; then cat /var/db/zoneinfo; fi"), nil
	},
}, func(out connector.Output, a facts.Args) (string, error) {
	s, err := firstLine(out, a)
	if i := strings.Index(s, "zoneinfo/"); i >= 0 {
		s = s[i+len("zoneinfo/"):]
	}
	return s, err
})

func init() {
	operations.Register(timezoneOp)
}

var timezoneOp = operations.Op{
	Name:        "server.timezone",
	Description: "set the time zone (timedatectl where systemd runs, else the /etc/localtime link)",
	Args: []operations.Arg{
		{Name: "timezone", Type: connector.String, Required: true, Description: "a tz database name, e.g. Europe/Amsterdam"},
	},
	Plan: planTimezone,
}

func planTimezone(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	tz := args.String("timezone")
	if !zoneName.MatchString(tz) {
		return nil, fmt.Errorf("timezone: %q is not a time zone name", tz)
	}
	current, err := Timezone.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	if current == tz {
		return plan, nil
	}
	zone := ZoneInfo + "/" + tz
	// A zone the host does not have would leave it on UTC, silently.
	info, err := files.File.Get(ctx, h, zone)
	if err != nil {
		return nil, err
	}
	// Old names (US/Pacific) are links to the zone's file.
	if info == nil || (info.NotFile && info.Type != "symbolic link") {
		return nil, fmt.Errorf("timezone: the host has no %s", zone)
	}
	initSys, err := InitSystem.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	if initSys == Systemd {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("timedatectl", "set-timezone", tz)})
		return plan, nil
	}
	plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("ln", "-sf", zone, "/etc/localtime")})
	// Debian's tzdata reads /etc/timezone too, and FreeBSD's tzsetup -r
	// (run by freebsd-update) copies /var/db/zoneinfo's zone over
	// /etc/localtime: keep those that exist in step.
	for _, f := range []string{"/etc/timezone", "/var/db/zoneinfo"} {
		have, err := files.FileContents.Get(ctx, h, f)
		if err != nil {
			return nil, err
		}
		if have != nil {
			steps, err := fileSteps(ctx, h, f, tz+"\n")
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, steps...)
		}
	}
	return plan, nil
}
