package apk_test

import (
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/apk"
)

var factMap = map[string]pyfixture.Fact{"apk.ApkPackages": {Value: pyfixture.Versions}}

// TestOperationFixtures plans each operation against each of pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	for _, op := range []string{"apk.packages", "apk.upgrade"} {
		t.Run(op, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", op))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckOp(op, cases[n], factMap) })
			ty.Log(t, op)
		})
	}
}

// TestFactFixtures compares apk.ApkPackages's command and parsed value
// with pyinfra's fixture.
func TestFactFixtures(t *testing.T) {
	const fact = "apk.ApkPackages"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckFact(fact, cases[n], facts.Args{}) })
	ty.Log(t, fact)
}
