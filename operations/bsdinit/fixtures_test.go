package bsdinit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/bsdinit"
)

var factMap = map[string]pyfixture.Fact{
	"bsdinit.RcdStatus": {Value: func(raw json.RawMessage) (any, error) {
		var m map[string]*bool
		err := json.Unmarshal(raw, &m)
		return m, err
	}},
}

// host answers files.FileContents, which goinfra's files.line reads, from
// the files.FindInFile answers pyinfra's fixture gives for the path: the
// lines found, or null when every search found no file.
type host struct{ *pyfixture.Host }

func (h host) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	if name != "files.FileContents" {
		return h.Host.Fact(ctx, name, args)
	}
	var found map[string][]string
	if raw, ok := h.Case.Facts["files.FindInFile"]; ok {
		if err := json.Unmarshal(raw, &found); err != nil {
			return nil, err
		}
	}
	var lines []string
	exists := false
	for k, l := range found {
		if !strings.HasPrefix(k, "path="+args["path"]+",") || l == nil {
			continue
		}
		exists = true
		for _, s := range l {
			if !contains(lines, s) {
				lines = append(lines, s)
			}
		}
	}
	if !exists {
		return nil, nil
	}
	s := ""
	for _, l := range lines {
		s += l + "\n"
	}
	return &s, nil
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// deliberate are the fixtures whose steps goinfra changes on purpose:
// rc.conf.local is edited as goinfra's files.line edits files (read,
// edited in Go, written back whole), where pyinfra runs sed or echo.
var deliberate = map[string][]string{
	"enabled":  {"upload \"nginx_enable=\\\"YES\\\"\\n\" to /etc/rc.conf.local"},
	"disabled": {"upload \"\" to /etc/rc.conf.local"},
}

func steps(p *operations.Plan) ([]string, error) {
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

// TestOperationFixtures plans bsdinit.service against each of pyinfra's
// fixtures and compares the commands (for rc.conf.local's edits, the
// file goinfra writes).
func TestOperationFixtures(t *testing.T) {
	names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", "bsdinit.service"))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error {
		c := cases[n]
		op, _ := operations.Lookup("bsdinit.service")
		args, err := pyfixture.OpArgs(op, c)
		if err != nil {
			return err
		}
		checked, err := operations.CheckArgs(op, args)
		if err != nil {
			return err
		}
		p, err := op.Plan(context.Background(), host{&pyfixture.Host{Case: c, Facts: factMap}}, checked)
		if err != nil {
			return err
		}
		got, err := steps(p)
		if err != nil {
			return err
		}
		want, ok := deliberate[n]
		if ok {
			t.Logf("%s: deliberate: rc.conf.local is written back whole, as files.line does", n)
		} else {
			want = []string{}
			for _, raw := range c.Commands {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					return err
				}
				want = append(want, s)
			}
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	})
	ty.Log(t, "bsdinit.service")
	if len(ty.Pass) != len(names) {
		t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
	}
}
