package sysvinit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/sysvinit"
)

func statusValue(raw json.RawMessage) (any, error) {
	var m map[string]*bool
	err := json.Unmarshal(raw, &m)
	return m, err
}

func pathKey(a facts.Args) map[string]string { return map[string]string{"path": a["path"]} }

var factMap = map[string]pyfixture.Fact{
	"sysvinit.InitdStatus": {Value: statusValue},
	"files.Link": {Key: pathKey, Value: func(raw json.RawMessage) (any, error) {
		var l files.LinkInfo
		if string(raw) == "false" {
			return &files.LinkInfo{NotLink: true}, nil
		}
		err := json.Unmarshal(raw, &l)
		return &l, err
	}},
	"files.Directory": {Key: pathKey, Value: func(raw json.RawMessage) (any, error) {
		if string(raw) == "false" {
			return &files.DirInfo{NotDir: true}, nil
		}
		return &files.DirInfo{}, nil
	}},
}

// host answers the facts goinfra asks where pyinfra asks others from
// those the fixture gives: sysvinit.RcLinks from files.FindLinks (the
// start links), server.Which for the link tools from
// server.LinuxDistribution (the tool the distribution has: goinfra looks
// for the tool, pyinfra at the distribution's name).
type host struct {
	*pyfixture.Host
}

func (h host) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	switch name {
	case "files.File":
		// create_remote_dir asks files.File of the link's directory,
		// pyinfra files.Directory: a directory there is "not a regular
		// file, a directory".
		d, err := h.Host.Fact(ctx, "files.Directory", args)
		if di, ok := d.(*files.DirInfo); err != nil || !ok || di == nil {
			return nil, err
		} else if di.NotDir {
			return &files.RegularInfo{}, nil
		}
		return &files.RegularInfo{NotFile: true, Type: "directory"}, nil
	case "sysvinit.RcLinks":
		var start []string
		if raw, ok := h.Case.Facts["files.FindLinks"]; ok {
			var m map[string][]string
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
			start = m["path=/etc/rc*.d/S*"+args["service"]+", quote_path=False"]
		}
		return sysvinit.Links{Start: append([]string{}, start...), Stop: []string{}}, nil
	case "server.Which":
		var d struct{ Name string }
		if raw, ok := h.Case.Facts["server.LinuxDistribution"]; ok {
			if err := json.Unmarshal(raw, &d); err != nil {
				return nil, err
			}
		}
		tool := map[string]string{"Ubuntu": "update-rc.d", "Debian": "update-rc.d", "CentOS": "chkconfig",
			"Fedora": "chkconfig", "Red Hat Enterprise Linux": "chkconfig", "Gentoo": "rc-update"}[d.Name]
		if tool == args["command"] {
			return "/usr/sbin/" + tool, nil
		}
		return nil, nil
	}
	return h.Host.Fact(ctx, name, args)
}

// plan plans op for case c on host.
func plan(name string, c *pyfixture.OpCase) (*operations.Plan, error) {
	op, ok := operations.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s is not registered", name)
	}
	args, err := pyfixture.OpArgs(op, c)
	if err != nil {
		return nil, err
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		return nil, err
	}
	return op.Plan(context.Background(), host{&pyfixture.Host{Case: c, Facts: factMap}}, checked)
}

// TestOperationFixtures plans sysvinit.service and sysvinit.enable
// against each of pyinfra's fixtures and compares the commands.
func TestOperationFixtures(t *testing.T) {
	for _, op := range []string{"sysvinit.service", "sysvinit.enable"} {
		t.Run(op, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", op))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				p, err := plan(op, cases[n])
				if err != nil {
					return err
				}
				var want []string
				for _, raw := range cases[n].Commands {
					var s string
					if err := json.Unmarshal(raw, &s); err != nil {
						return err
					}
					want = append(want, s)
				}
				if got := pyfixture.Steps(p); !reflect.DeepEqual(got, append([]string{}, want...)) {
					return fmt.Errorf("got %q, want %q", got, want)
				}
				return nil
			})
			ty.Log(t, op)
			if len(ty.Pass) != len(names) {
				t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
			}
		})
	}
}

// TestFactFixtures parses pyinfra's sysvinit.InitdStatus output (the
// fixture has no command: pyinfra's is a loop over every script; goinfra's
// is run on a real host by the e2e test).
func TestFactFixtures(t *testing.T) {
	fact := "sysvinit.InitdStatus"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error {
		f, err := facts.Check(fact, facts.Args{})
		if err != nil {
			return err
		}
		var out connector.Output
		for _, l := range cases[n].Output {
			out.Lines = append(out.Lines, connector.Line{Stream: connector.Stdout, Text: l})
		}
		v, err := f.Parse(out, facts.Args{})
		if err != nil {
			return err
		}
		got, _ := json.Marshal(v)
		if !pyfixture.JSONEqual(got, cases[n].Fact) {
			return fmt.Errorf("got %s, want %s", got, cases[n].Fact)
		}
		return nil
	})
	ty.Log(t, fact)
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}
