package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/server"
)

func decode[T any](raw json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// decodeNumbers decodes JSON with whole numbers as ints, as a deploy
// file and goinfra's facts give them.
func decodeNumbers(raw json.RawMessage) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return ints(v).(map[string]any), nil
}

func ints(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	case []any:
		for i := range x {
			x[i] = ints(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = ints(x[k])
		}
	}
	return v
}

// factMap: how the facts the server operations ask map to pyinfra's
// fixtures (keys as pyinfra writes them).
var factMap = map[string]pyfixture.Fact{
	"server.Hostname": {Value: decode[string]},
	"server.Os":       {Value: decode[string]},
	"server.Which": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"command": a["command"]}
	}, Value: decode[string]},
	"server.Sysctl": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"keys": pyfixture.PyList(strings.Split(a["keys"], ","))}
	}, Value: decodeNumbers},
	"server.KernelModules": {Value: decode[map[string]*server.ModuleInfo]},
	"server.Mounts":        {Value: decode[map[string]*server.MountInfo]},
	"server.Crontab": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"user": pyfixture.PyStr(a["user"])}
	}, Value: decode[map[string]*server.CronEntry]},
	"server.Locales":  {Value: decode[[]string]},
	"rpm.RpmPackages": {Value: decode[map[string][]string]},
	"apk.ApkPackages": {Value: decode[map[string][]string]},
	"rpm.RpmPackageProvides": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"name": a["name"]}
	}, Value: decode[[][]string]},
	"files.FindInFile": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"path": a["path"], "pattern": a["pattern"]}
	}, Value: decode[[]string]},
	// No fixture gives a file's content: every file reads as missing.
	"files.FileContents": {Key: func(a facts.Args) map[string]string {
		return map[string]string{"path": a["path"]}
	}, Value: decode[*string]},
}

// opSkips are the operation fixtures goinfra does not follow, and why.
var opSkips = map[string]map[string]string{
	"server.packages": {},
	"server.wait": {
		"port": "deliberate: goinfra's loop (one line) matches the port exactly, where pyinfra's grep \":22\" also takes :2222 for port 22",
	},
}

// edited are the operations whose file edits goinfra makes another way:
// server.locale rewrites /etc/locale.gen whole (files.line) where pyinfra
// runs sed, server.crontab edits the crontab in one step fed to crontab's
// standard input where pyinfra goes through a temporary file and sed. For
// them the fixture's other commands are compared, and whether the plan
// changes anything.
var edited = map[string]bool{"server.locale": true, "server.crontab": true}

// fileEdit: a pyinfra command that edits a file with sed or through a
// temporary file.
var fileEdit = regexp.MustCompile(`^sed -i|_tempfile_`)

// echoAppend: pyinfra's files.line appending a missing line. With no file
// content in the fixture, goinfra's files.line uploads the line as the
// file's content.
var echoAppend = regexp.MustCompile(`^echo '([^']*)' >> (\S+)$`)

// translate turns a fixture's echo appends into goinfra's uploads.
func translate(c *pyfixture.OpCase) *pyfixture.OpCase {
	cc := *c
	cc.Commands = nil
	for _, raw := range c.Commands {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if m := echoAppend.FindStringSubmatch(s); m != nil {
				raw, _ = json.Marshal([]string{"upload", m[1] + "\n", m[2]})
			}
		}
		cc.Commands = append(cc.Commands, raw)
	}
	return &cc
}

// checkEdited compares the commands of an operation of edited, and
// whether it changes anything.
func checkEdited(name string, c *pyfixture.OpCase) error {
	if c.Exception != nil {
		return pyfixture.CheckOp(name, c, factMap)
	}
	p, h, err := pyfixture.Plan(name, c, factMap)
	if err != nil {
		return fmt.Errorf("%w: plan: %w", pyfixture.ErrMismatch, err)
	}
	want := []string{}
	for _, raw := range c.Commands {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if !fileEdit.MatchString(s) {
			want = append(want, s)
		}
	}
	got := []string{}
	for _, s := range p.Steps {
		if cmd, ok := s.(*operations.Command); ok {
			got = append(got, cmd.Describe())
		}
	}
	if !reflect.DeepEqual(got, want) || p.Changed() != (len(c.Commands) > 0) {
		return fmt.Errorf("%w:\n got  %q (changes: %v)\n want %q (changes: %v)\n facts asked: %q",
			pyfixture.ErrMismatch, pyfixture.Steps(p), p.Changed(), want, len(c.Commands) > 0, h.Asked())
	}
	return nil
}

// TestOperationFixtures plans each server operation against pyinfra's
// fixtures, its host answering the fixture's facts, and compares the
// commands.
func TestOperationFixtures(t *testing.T) {
	for _, op := range []string{"server.hostname", "server.sysctl", "server.modprobe", "server.mount", "server.locale",
		"server.security_limit", "server.packages", "server.wait", "server.crontab"} {
		t.Run(op, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.OpCase](t, filepath.Join("testdata", "pyinfra", "operations", op))
			var ty pyfixture.Tally
			ty.Run(t, names, opSkips[op], func(n string) error {
				if edited[op] {
					return checkEdited(op, cases[n])
				}
				return pyfixture.CheckOp(op, translate(cases[n]), factMap)
			})
			ty.Log(t, op)
			if len(ty.Pass) != len(names)-len(opSkips[op]) {
				t.Errorf("%d of %d fixtures passed", len(ty.Pass), len(names))
			}
		})
	}
}

// TestFactFixtures compares each fact's command and parsed value with
// pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	for _, fact := range []string{"server.Crontab", "server.KernelModules", "server.Mounts", "server.SecurityLimits", "server.Selinux", "server.Sysctl"} {
		t.Run(fact, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				args := facts.Args{}
				if len(cases[n].Arg) > 0 {
					var user string
					if err := json.Unmarshal(cases[n].Arg, &user); err != nil {
						return err
					}
					args["user"] = user
				}
				return pyfixture.CheckFact(fact, cases[n], args)
			})
			ty.Log(t, fact)
			if len(ty.Fail) > 0 {
				t.Errorf("%d of %d fixtures failed", len(ty.Fail), len(names))
			}
		})
	}
}

// TestFixtureMismatchFails: the comparison is not vacuous: a fixture
// whose commands goinfra does not plan fails.
func TestFixtureMismatchFails(t *testing.T) {
	c := &pyfixture.OpCase{Args: []any{"/data"}, Facts: map[string]json.RawMessage{"server.Mounts": json.RawMessage(`{}`)},
		Commands: []json.RawMessage{json.RawMessage(`"mount /elsewhere"`)}}
	if err := pyfixture.CheckOp("server.mount", c, factMap); !errors.Is(err, pyfixture.ErrMismatch) {
		t.Errorf("a wrong command: %v, want a mismatch", err)
	}
	c.Commands = []json.RawMessage{json.RawMessage(`["upload", "x\n", "/data"]`)}
	if err := pyfixture.CheckOp("server.mount", c, factMap); !errors.Is(err, pyfixture.ErrMismatch) {
		t.Errorf("an upload for a command: %v, want a mismatch", err)
	}
	if err := checkEdited("server.crontab", &pyfixture.OpCase{Args: []any{"x"},
		Facts:    map[string]json.RawMessage{"server.Crontab": json.RawMessage(`{"user=None": {"x": {"minute": "*", "hour": "*", "month": "*", "day_of_week": "*", "day_of_month": "*"}}}`)},
		Commands: []json.RawMessage{json.RawMessage(`"crontab  _tempfile_"`)}}); !errors.Is(err, pyfixture.ErrMismatch) {
		t.Errorf("no change where the fixture changes: %v, want a mismatch", err)
	}
}
