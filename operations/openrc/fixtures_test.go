package openrc_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/openrc"
)

func runlevelKey(a facts.Args) map[string]string { return map[string]string{"runlevel": a["runlevel"]} }

func boolMap(raw json.RawMessage) (any, error) {
	var m map[string]bool
	err := json.Unmarshal(raw, &m)
	return m, err
}

var factMap = map[string]pyfixture.Fact{
	"openrc.OpenrcStatus":  {Key: runlevelKey, Value: boolMap},
	"openrc.OpenrcEnabled": {Key: runlevelKey, Value: boolMap},
}

// deliberate are the fixtures whose commands goinfra changes on purpose:
// the commands it plans instead, and why. They are compared as the
// others are.
var deliberate = map[string]struct {
	why  string
	want []string
}{
	"enable":  {runlevelNamed, []string{"rc-update add nginx default"}},
	"disable": {runlevelNamed, []string{"rc-update del nginx default"}},
}

const runlevelNamed = "deliberate: rc-update is given the runlevel the operation checks (pyinfra leaves it out, " +
	"so runlevel=\"boot\" adds to the current runlevel and never converges)"

// TestOperationFixtures plans openrc.service against each of pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", "openrc.service"))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error {
		d, ok := deliberate[n]
		if !ok {
			return pyfixture.CheckOp("openrc.service", cases[n], factMap)
		}
		t.Logf("%s: %s", n, d.why)
		p, _, err := pyfixture.Plan("openrc.service", cases[n], factMap)
		if err != nil {
			return err
		}
		if got := pyfixture.Steps(p); !reflect.DeepEqual(got, d.want) {
			t.Errorf("got %q, want %q", got, d.want)
		}
		return nil
	})
	ty.Log(t, "openrc.service")
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}

// TestFactFixtures compares each fact's command and parsed value with
// pyinfra's fixtures; a fixture's argument is the runlevel.
func TestFactFixtures(t *testing.T) {
	for _, fact := range []string{"openrc.OpenrcStatus", "openrc.OpenrcEnabled"} {
		t.Run(fact, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				args := facts.Args{"runlevel": "default"}
				if len(cases[n].Arg) > 0 {
					var pos []string
					if err := json.Unmarshal(cases[n].Arg, &pos); err != nil {
						return err
					}
					args["runlevel"] = pos[0]
				}
				return pyfixture.CheckFact(fact, cases[n], args)
			})
			ty.Log(t, fact)
			if len(ty.Pass) != len(names) {
				t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
			}
		})
	}
}
