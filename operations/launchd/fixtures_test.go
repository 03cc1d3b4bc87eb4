package launchd_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/launchd"
)

var factMap = map[string]pyfixture.Fact{
	"launchd.LaunchdStatus": {Value: func(raw json.RawMessage) (any, error) {
		var m map[string]bool
		err := json.Unmarshal(raw, &m)
		return m, err
	}},
}

// TestOperationFixtures plans launchd.service against each of pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", "launchd.service"))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckOp("launchd.service", cases[n], factMap) })
	ty.Log(t, "launchd.service")
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}

// TestFactFixtures compares launchd.LaunchdStatus's command and value
// with pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	fact := "launchd.LaunchdStatus"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckFact(fact, cases[n], facts.Args{}) })
	ty.Log(t, fact)
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}
