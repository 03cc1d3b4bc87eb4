package rpm_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/rpm"
)

// TestFactFixtures compares the rpm facts' commands and parsed values
// with pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	for _, fact := range []string{"rpm.RpmPackages", "rpm.RpmPackage", "rpm.RpmPackageProvides"} {
		t.Run(fact, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				args := facts.Args{}
				if raw := cases[n].Arg; len(raw) > 0 {
					var name string
					if err := json.Unmarshal(raw, &name); err != nil {
						return err
					}
					args["name"] = name
				}
				return pyfixture.CheckFact(fact, cases[n], args)
			})
			ty.Log(t, fact)
		})
	}
}
