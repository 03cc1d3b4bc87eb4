package upstart_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations/files"
	_ "github.com/goinfra-dev/goinfra/operations/upstart"
)

func pathKey(a facts.Args) map[string]string { return map[string]string{"path": a["path"]} }

var factMap = map[string]pyfixture.Fact{
	"upstart.UpstartStatus": {Value: func(raw json.RawMessage) (any, error) {
		var m map[string]bool
		err := json.Unmarshal(raw, &m)
		return m, err
	}},
	"files.File": {Key: pathKey, Value: func(raw json.RawMessage) (any, error) {
		if string(raw) == "false" {
			return &files.RegularInfo{NotFile: true}, nil
		}
		var fi files.FileInfo
		err := json.Unmarshal(raw, &fi)
		return &files.RegularInfo{FileInfo: fi}, err
	}},
	// pyinfra's files.put compares checksums, goinfra's upstart.service
	// the content: a fixture without the file answers null for both.
	"files.FileContents": {Key: pathKey, Value: func(raw json.RawMessage) (any, error) {
		var s string
		err := json.Unmarshal(raw, &s)
		return &s, err
	}},
}

// TestOperationFixtures plans upstart.service against each of pyinfra's
// fixtures and compares the commands and uploads.
func TestOperationFixtures(t *testing.T) {
	names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", "upstart.service"))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckOp("upstart.service", cases[n], factMap) })
	ty.Log(t, "upstart.service")
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}

// TestFactFixtures compares upstart.UpstartStatus's command and value
// with pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	fact := "upstart.UpstartStatus"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckFact(fact, cases[n], facts.Args{}) })
	ty.Log(t, fact)
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}
