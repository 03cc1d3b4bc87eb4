package pip_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations/files"
	_ "github.com/goinfra-dev/goinfra/operations/pip"
)

func pathKey(a facts.Args) map[string]string { return map[string]string{"path": a["path"]} }

// fileValue is files.File's value from pyinfra's: true or an object (its
// attributes) a file, false none.
func fileValue(raw json.RawMessage) (any, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if !b {
			return (*files.RegularInfo)(nil), nil
		}
		return &files.RegularInfo{}, nil
	}
	var info files.RegularInfo
	err := json.Unmarshal(raw, &info.FileInfo)
	return &info, err
}

func dirValue(raw json.RawMessage) (any, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &files.DirInfo{NotDir: !b}, nil
	}
	return &files.DirInfo{}, nil
}

var factMap = map[string]pyfixture.Fact{
	"files.File":      {Key: pathKey, Value: fileValue},
	"files.Directory": {Key: pathKey, Value: dirValue},
	"pip.PipPackages": {
		Key: func(a facts.Args) map[string]string {
			p := a["pip"]
			if p == "" {
				p = "pip"
			}
			return map[string]string{"pip": p}
		},
		Value: func(raw json.RawMessage) (any, error) {
			var m map[string][]string
			err := json.Unmarshal(raw, &m)
			return m, err
		},
	},
}

var opSkips = map[string]map[string]string{
	"pip.packages": {
		"extras_require_modern_pip": "needs the pip.PipVersion fact of a later pyinfra, which refuses extras with pip < 22.2; " +
			"goinfra passes extras to pip install as given (NAME[EXTRAS]) and compares installed packages by name",
	},
}

// TestOperationFixtures plans each operation against each of pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	for _, op := range []string{"pip.packages", "pip.virtualenv", "pip.venv"} {
		t.Run(op, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", op))
			var ty pyfixture.Tally
			ty.Run(t, names, opSkips[op], func(n string) error {
				return pyfixture.CheckOp(op, cases[n], factMap)
			})
			ty.Log(t, op)
		})
	}
}

// TestFactFixtures compares pip.PipPackages's command and parsed value
// with pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	const fact = "pip.PipPackages"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error {
		args := facts.Args{}
		if raw := cases[n].Arg; len(raw) > 0 {
			var pip string
			if err := json.Unmarshal(raw, &pip); err != nil {
				return err
			}
			args["pip"] = pip
		}
		return pyfixture.CheckFact(fact, cases[n], args)
	})
	ty.Log(t, fact)
}
