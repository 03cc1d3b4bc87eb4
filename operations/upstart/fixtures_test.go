package upstart_test

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations"
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

// stepTexts are a plan's steps as pyinfra's fixtures give them: a
// command's text, an upload as its content and destination.
func stepTexts(p *operations.Plan) ([]string, error) {
	out := []string{}
	for _, s := range p.Steps {
		u, ok := s.(*operations.Upload)
		if !ok {
			out = append(out, s.Describe())
			continue
		}
		r, err := u.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("upload %q to %s", b, u.Dest))
	}
	return out, nil
}

func wantTexts(c *pyfixture.OpCase) ([]string, error) {
	out := []string{}
	for _, raw := range c.Commands {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		var up []string
		if err := json.Unmarshal(raw, &up); err != nil || len(up) != 3 || up[0] != "upload" {
			return nil, fmt.Errorf("command %s is neither a string nor an upload", raw)
		}
		out = append(out, fmt.Sprintf("upload %q to %s", up[1], up[2]))
	}
	return out, nil
}

// TestOperationFixtures plans upstart.service against each of pyinfra's
// fixtures and compares the commands and uploads.
func TestOperationFixtures(t *testing.T) {
	names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", "upstart.service"))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error {
		p, h, err := pyfixture.Plan("upstart.service", cases[n], factMap)
		if err != nil {
			return err
		}
		got, err := stepTexts(p)
		if err != nil {
			return err
		}
		want, err := wantTexts(cases[n])
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("got %q, want %q (facts asked: %q)", got, want, h.Asked())
		}
		return nil
	})
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
