// Package yumliketest runs pyinfra's fixtures for the dnf and yum modules,
// which take the same arguments and plan the same commands with their own
// tool: one test for both, given the tool.
package yumliketest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/rpm"
)

func key(arg string) func(facts.Args) map[string]string {
	return func(a facts.Args) map[string]string { return map[string]string{arg: a[arg]} }
}

var factMap = map[string]pyfixture.Fact{
	"rpm.RpmPackages": {Value: pyfixture.Versions},
	"rpm.RpmPackage": {Key: key("name"), Value: func(raw json.RawMessage) (any, error) {
		var p rpm.Package
		err := json.Unmarshal(raw, &p)
		return &p, err
	}},
	"rpm.RpmPackageProvides": {Key: key("name"), Value: func(raw json.RawMessage) (any, error) {
		var l [][]string
		err := json.Unmarshal(raw, &l)
		return l, err
	}},
	"files.File": {Key: key("path"), Value: func(raw json.RawMessage) (any, error) {
		var info files.RegularInfo
		err := json.Unmarshal(raw, &info.FileInfo)
		return &info, err
	}},
	"files.Directory": {Key: key("path"), Value: func(raw json.RawMessage) (any, error) {
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return &files.DirInfo{NotDir: !b}, nil
		}
		return &files.DirInfo{}, nil
	}},
	"files.Sha256File": {Key: key("path"), Value: func(raw json.RawMessage) (any, error) {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}},
}

// urlCases download their source with files.download, whose step
// goinfra's files module words its own way (one command that downloads,
// checks and moves): only the steps after it are compared.
// tempRPM is goinfra's name of a downloaded .rpm.
var tempRPM = regexp.MustCompile(`/tmp/goinfra-[0-9a-f]+\.rpm`)

var urlCases = map[string]bool{"rpm/add_url": true, "repo/add_url": true}

// OperationFixtures plans each operation of tool (dnf or yum) against each
// of pyinfra's fixtures in ./testdata/pyinfra, its host answering the fixture's facts, and compares the
// commands (and uploaded content).
func OperationFixtures(t *testing.T, tool string) {
	for _, short := range []string{"packages", "repo", "rpm", "key"} {
		op := tool + "." + short
		t.Run(op, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", op))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				return checkOp(op, cases[n], urlCases[short+"/"+n])
			})
			ty.Log(t, op)
		})
	}
}

// checkOp compares a case as pyfixture.CheckOp does, with uploads
// (["upload", content, dest]) compared by content and destination; for a
// URL case, the fixture's curl and mv are matched by goinfra's
// files.download plan, and _tempfile_ stands for its destination.
func checkOp(op string, c *pyfixture.OpCase, url bool) error {
	p, h, err := pyfixture.Plan(op, c, factMap)
	if err != nil {
		return fmt.Errorf("%w: plan: %w", pyfixture.ErrMismatch, err)
	}
	var want []string
	for _, raw := range c.Commands {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			want = append(want, s)
			continue
		}
		var up []string
		if err := json.Unmarshal(raw, &up); err != nil || len(up) != 3 || up[0] != "upload" {
			return fmt.Errorf("%w: command %s", pyfixture.ErrMismatch, raw)
		}
		want = append(want, fmt.Sprintf("upload %q to %s", up[1], up[2]))
	}
	var got []string
	for _, s := range p.Steps {
		if u, ok := s.(*operations.Upload); ok {
			r, err := u.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("upload %q to %s", b, u.Dest))
			continue
		}
		got = append(got, s.Describe())
	}
	if url {
		// pyinfra downloads with two commands, curl then mv.
		if len(want) < 2 || !strings.HasPrefix(want[0], "curl ") || !strings.HasPrefix(want[1], "mv _tempfile_ ") {
			return fmt.Errorf("%w: a URL case without curl and mv: %q", pyfixture.ErrMismatch, want)
		}
		dest := strings.TrimPrefix(want[1], "mv _tempfile_ ")
		src := strings.Fields(want[0])[2]
		dl, ok := operations.Lookup("files.download")
		if !ok {
			return fmt.Errorf("files.download is not registered")
		}
		if len(p.Steps) == 0 {
			return fmt.Errorf("%w: no steps, want a download of %s", pyfixture.ErrMismatch, src)
		}
		// goinfra's destination of a downloaded .rpm is its own name.
		if dest == "_tempfile_.rpm" {
			d := got[len(got)-1]
			dest = tempRPM.FindString(d)
			if dest == "" {
				return fmt.Errorf("%w: %q does not install a downloaded file", pyfixture.ErrMismatch, d)
			}
		}
		args, err := operations.CheckArgs(dl, map[string]any{"src": src, "dest": dest})
		if err != nil {
			return err
		}
		dp, err := dl.Plan(context.Background(), h, args)
		if err != nil {
			return err
		}
		wantDl := pyfixture.Steps(dp)
		rest := want[2:]
		for i := range rest {
			rest[i] = strings.ReplaceAll(rest[i], "_tempfile_.rpm", dest)
		}
		want = append(wantDl, rest...)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%w:\n got  %q\n want %q\n facts asked: %q", pyfixture.ErrMismatch, got, want, h.Asked())
	}
	return nil
}

// FactFixtures compares tool's Repositories fact's command and parsed
// value with pyinfra's fixture.
func FactFixtures(t *testing.T, tool string) {
	fact := tool + "." + strings.ToUpper(tool[:1]) + tool[1:] + "Repositories"
	names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
	var ty pyfixture.Tally
	ty.Run(t, names, nil, func(n string) error { return pyfixture.CheckFact(fact, cases[n], facts.Args{}) })
	ty.Log(t, fact)
}
