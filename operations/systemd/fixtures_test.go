package systemd_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/systemd"
)

// unitsKey is pyinfra's key of the systemd facts' arguments.
func unitsKey(a facts.Args) map[string]string {
	var services []string
	if a["services"] != "" {
		services = strings.Split(a["services"], ",")
	}
	return map[string]string{
		"user_mode": pyfixture.PyBool(a["user_mode"] == "true"),
		"machine":   pyfixture.PyStr(a["machine"]),
		"user_name": pyfixture.PyStr(a["user_name"]),
		"services":  pyfixture.PyList(services),
	}
}

func unitsValue(raw json.RawMessage) (any, error) {
	var m map[string]bool
	err := json.Unmarshal(raw, &m)
	return m, err
}

var factMap = map[string]pyfixture.Fact{
	"systemd.SystemdStatus":  {Key: unitsKey, Value: unitsValue},
	"systemd.SystemdEnabled": {Key: unitsKey, Value: unitsValue},
}

// opSkips are the operation fixtures goinfra does not follow, and why.
var opSkips = map[string]string{
	"reload_unknown": "fixture of pyinfra 1.x, whose systemd.service ran a shell conditional on `systemctl status` " +
		"for a unit the fact did not report; pyinfra 2 and 3 (and goinfra) take such a unit as inactive and start it",
}

// TestOperationFixtures plans systemd.service against each of pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "pyinfra", "operations", "systemd.service")
	names, cases := pyfixture.Load[pyfixture.OpCase](t, dir)
	var ty pyfixture.Tally
	ty.Run(t, names, opSkips, func(n string) error {
		return pyfixture.CheckOp("systemd.service", cases[n], factMap)
	})
	ty.Log(t, "systemd.service")
	if len(ty.Pass) != len(names)-len(opSkips) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}

// factArgs turns a fixture's positional arguments (user_mode, machine,
// user_name) into the facts' arguments; pyinfra's tests pass "True" as
// a truthy user_mode too.
func factArgs(raw json.RawMessage) (facts.Args, error) {
	a := facts.Args{}
	if len(raw) == 0 {
		return a, nil
	}
	var pos []any
	if err := json.Unmarshal(raw, &pos); err != nil {
		return nil, err
	}
	for i, v := range pos {
		switch i {
		case 0:
			if v == true || v == "True" {
				a["user_mode"] = "true"
			}
		case 1, 2:
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("argument %d: %v", i, v)
			}
			a[[]string{"", "machine", "user_name"}[i]] = s
		}
	}
	return a, nil
}

// TestFactFixtures compares each fact's command and parsed value with
// pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	for _, fact := range []string{"systemd.SystemdStatus", "systemd.SystemdEnabled"} {
		t.Run(fact, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				args, err := factArgs(cases[n].Arg)
				if err != nil {
					return err
				}
				return pyfixture.CheckFact(fact, cases[n], args)
			})
			ty.Log(t, fact)
		})
	}
}
