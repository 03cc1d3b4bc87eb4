package apk_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/apk"
)

// versions reads {name: [versions]}; pyinfra's fixtures also give a
// version as a bare string.
func versions(raw json.RawMessage) (any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = []string{x}
		case []any:
			for _, e := range x {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		default:
			return nil, fmt.Errorf("%s: version %v", k, v)
		}
	}
	return out, nil
}

var factMap = map[string]pyfixture.Fact{"apk.ApkPackages": {Value: versions}}

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
