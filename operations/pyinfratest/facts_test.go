package pyinfratest_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// factAdapter tells how one of pyinfra's facts maps to goinfra's.
type factAdapter struct {
	// fact is goinfra's fact; skip, when set, why no fixture of the fact
	// can run.
	fact, skip string
	// args turns pyinfra's "arg" into goinfra's arguments.
	args func(arg any) (facts.Args, string)
	// recorded: goinfra's command prints another format than pyinfra's,
	// so every fixture needs a recording of goinfra's output (else
	// pyinfra's output is fed to goinfra's parser as it is).
	recorded bool
	// derive, when set, makes goinfra's output for a fixture that cannot
	// be recorded, and says how.
	derive func(fx factFixture) ([]string, string)
	// normalize removes what goinfra deliberately does not give from
	// pyinfra's value (and evens out formats); it gets both values.
	normalize func(v any) any
	// skipFixtures are fixtures that cannot run, with the reason.
	skipFixtures map[string]string
	// unlike are the fields ("user.key") of a fixture's value left out of
	// the comparison, with the reason: what no host can give as pyinfra's
	// fixture has it.
	unlike map[string]struct {
		fields []string
		why    string
	}
}

// runlevelArg is the openrc facts' runlevel: pyinfra's positional
// argument, a list of one.
func runlevelArg(arg any) (facts.Args, string) {
	if l, ok := arg.([]any); ok && len(l) == 1 {
		if s, ok := l[0].(string); ok {
			return facts.Args{"runlevel": s}, ""
		}
	}
	return nil, fmt.Sprintf("argument %v is no runlevel", arg)
}

func pathArg(arg any) (facts.Args, string) {
	s, _ := arg.(string)
	return facts.Args{"path": s}, ""
}

// statFact normalizes a file fact's value: pyinfra's naive UTC times and
// goinfra's RFC 3339 ones compare as instants; ctime is left out (a test
// host cannot set it), and so is a directory's or link's size (tmpfs gives
// a directory 40 bytes, a link the length of its target).
func statFact(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, x := range m {
		switch k {
		case "ctime":
			continue
		case "atime", "mtime":
			x = instant(x)
		}
		out[k] = x
	}
	if _, link := m["link_target"]; link {
		delete(out, "size")
	}
	return out
}

func dirFact(v any) any {
	m := statFact(v)
	if d, ok := m.(map[string]any); ok {
		delete(d, "size")
	}
	return m
}

// instant reads a time as pyinfra ("2020-07-15T09:12:28", UTC;
// "2019-01-01T00:00:00+00:00") or goinfra (RFC 3339) writes it.
func instant(x any) any {
	s, ok := x.(string)
	if !ok {
		return x
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix()
		}
	}
	return x
}

var factAdapters = map[string]factAdapter{
	"files.File": {fact: "files.File", args: pathArg, recorded: true, normalize: statFact, skipFixtures: map[string]string{
		"invalid_output": "deliberate: output goinfra cannot read fails the fact; pyinfra answers null, which reads as a missing file",
	}},
	"files.Directory": {fact: "files.Directory", args: pathArg, recorded: true, normalize: dirFact},
	"files.Link": {fact: "files.Link", args: pathArg, recorded: true, normalize: statFact, skipFixtures: map[string]string{
		"valid_centos6": "no host state to record: a symbolic link of mode 644 cannot be made on Linux (CentOS 6's stat printed one); goinfra reads the target with readlink, not from stat's `link' quoting",
	}},
	"files.Sha256File": {fact: "files.Sha256File", args: pathArg},
	"files.FindInFile": {fact: "files.FindInFile", args: func(arg any) (facts.Args, string) {
		l, _ := arg.([]any)
		if len(l) > 2 && l[2] == true {
			return nil, "interpolate_variables: goinfra always quotes the pattern, so $USER is never expanded by the shell"
		}
		p, _ := l[0].(string)
		pat, _ := l[1].(string)
		return facts.Args{"path": p, "pattern": pat}, ""
	}},
	"files.Block":           {fact: "files.Block", args: pathArg, recorded: true},
	"files.FindFiles":       {fact: "files.FindFiles", args: pathArg},
	"files.FindDirectories": {fact: "files.FindDirectories", args: pathArg},
	"files.FindLinks":       {fact: "files.FindLinks", args: pathArg},
	"files.Sha1File":        {fact: "files.Sha1File", args: pathArg},
	"files.Md5File":         {fact: "files.Md5File", args: pathArg},
	"server.Arch":           {fact: "server.Arch"},
	"server.Hostname":       {fact: "server.Hostname"},
	"server.Os":             {fact: "server.Os"},
	"server.Home":           {fact: "server.Home"},
	"server.Groups":         {fact: "server.Groups"},
	"server.Which": {fact: "server.Which", args: func(arg any) (facts.Args, string) {
		s, _ := arg.(string)
		return facts.Args{"command": s}, ""
	}},
	"server.LinuxDistribution": {fact: "server.LinuxDistribution"},
	"server.Date": {fact: "server.Date", normalize: instant, derive: func(fx factFixture) ([]string, string) {
		t, err := time.Parse("2006-01-02T15:04:05-0700", fx.Output[0])
		if err != nil {
			return nil, ""
		}
		return []string{fmt.Sprint(t.Unix())}, "derived: what date +%s prints at the fixture's instant (a clock cannot be set back to record it)"
	}},
	"server.Users": {fact: "server.Users", recorded: true, unlike: map[string]struct {
		fields []string
		why    string
	}{"mixed": {[]string{"noshell.group", "freebsdnologin.group"},
		"the fixture gives users of one gid different primary group names (id -gn's, faked); a host's id -gn, as goinfra, names a gid by its first /etc/group entry"}},
		normalize: func(v any) any {
			m, ok := v.(map[string]any)
			if !ok {
				return v
			}
			out := map[string]any{}
			for name, u := range m {
				um, _ := u.(map[string]any)
				c := map[string]any{}
				for k, x := range um {
					switch k {
					case "lastlog", "login_time", "password":
						// goinfra never reads /etc/shadow's passwords into a
						// fact (server.PasswordDigest compares a digest) nor
						// the login history.
						continue
					case "groups":
						l, _ := x.([]any)
						s := make([]string, 0, len(l))
						for _, g := range l {
							s = append(s, fmt.Sprint(g))
						}
						sort.Strings(s)
						x = s
					}
					c[k] = x
				}
				out[name] = c
			}
			return out
		}},
	"deb.DebPackages":        {fact: "apt.DebPackages", recorded: true},
	"systemd.SystemdStatus":  {skip: "run by operations/systemd's own fixture tests (TestFactFixtures there), with the module's typed value"},
	"systemd.SystemdEnabled": {skip: "run by operations/systemd's own fixture tests, as systemd.SystemdStatus"},
	// goinfra's openrc and sysvinit modules have pyinfra's facts (their
	// fixture tests also compare the commands).
	"openrc.OpenrcStatus":  {fact: "openrc.OpenrcStatus", args: runlevelArg},
	"openrc.OpenrcEnabled": {fact: "openrc.OpenrcEnabled", args: runlevelArg},
	"sysvinit.InitdStatus": {fact: "sysvinit.InitdStatus"},
}

// source is one output to feed a fact's parser, and where it came from.
type source struct {
	how            string
	stdout, stderr []string
}

func output(s source) connector.Output {
	var o connector.Output
	for _, l := range s.stdout {
		o.Lines = append(o.Lines, connector.Line{Stream: connector.Stdout, Text: l})
	}
	for _, l := range s.stderr {
		o.Lines = append(o.Lines, connector.Line{Stream: connector.Stderr, Text: l})
	}
	return o
}

// TestPyinfraFactFixtures feeds every fact fixture of pyinfra's for a fact
// goinfra has to goinfra's parser: pyinfra's output where goinfra's command
// prints the same format, else goinfra's own output recorded for the same
// host state (GNU and BSD stat for the file facts). The value must be
// pyinfra's, less what goinfra deliberately leaves out. go test -v logs the
// counts per fact and every skipped fixture with its reason.
func TestPyinfraFactFixtures(t *testing.T) {
	ty := newTally()
	defer ty.log(t)
	all := fixtures(t, "facts")
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, dir := range names {
		a, ok := factAdapters[dir]
		if !ok {
			t.Errorf("%s: no adapter: say how the fact maps, or why it is skipped", dir)
			continue
		}
		for _, name := range all[dir] {
			t.Run(dir+"/"+name, func(t *testing.T) {
				if why := a.skip + a.skipFixtures[name]; why != "" {
					ty.skipped[dir] = append(ty.skipped[dir], name+": "+why)
					t.Skip(why)
				}
				if why := argsSkip(a, dir, name, t); why != "" {
					ty.skipped[dir] = append(ty.skipped[dir], name+": "+why)
					t.Skip(why)
				}
				if factFixtureOK(t, a, dir, name) {
					ty.pass[dir]++
				} else {
					ty.fail[dir]++
				}
			})
		}
	}
}

// argsSkip is why a fixture's arguments have no goinfra equivalent ("" if
// they have one).
func argsSkip(a factAdapter, dir, name string, t *testing.T) string {
	var fx factFixture
	load(t, &fx, "facts", dir, name+".json")
	if a.args == nil || fx.Arg == nil {
		return ""
	}
	_, why := a.args(fx.Arg)
	return why
}

// factFixtureOK runs one fixture with every output it has.
func factFixtureOK(t *testing.T, a factAdapter, dir, name string) bool {
	var fx factFixture
	load(t, &fx, "facts", dir, name+".json")
	f, ok := facts.Lookup(a.fact)
	if !ok {
		t.Fatalf("%s is not registered", a.fact)
	}
	args := facts.Args{}
	if a.args != nil && fx.Arg != nil {
		args, _ = a.args(fx.Arg)
	}
	var sources []source
	recs, _ := filepath.Glob(filepath.Join(root, "goinfra", "facts", dir, name+".*json"))
	sort.Strings(recs)
	for _, p := range recs {
		var r recording
		load(t, &r, "goinfra", "facts", dir, filepath.Base(p))
		if r.Fixture != dir+"/"+name+".json" || r.Fact != a.fact {
			t.Fatalf("%s: a recording of %s for %s", p, r.Fact, r.Fixture)
		}
		// The recording must still be of goinfra's command.
		cmd, err := f.Command(r.Args)
		if err != nil || cmd.Raw() != r.Command {
			t.Errorf("%s: goinfra now runs %q (%v), the recording has %q: record again (GOINFRA_RECORD=1)", filepath.Base(p), cmd.Raw(), err, r.Command)
			return false
		}
		args = r.Args
		sources = append(sources, source{how: r.How, stdout: r.Stdout, stderr: r.Stderr})
	}
	switch {
	case len(sources) > 0:
	case a.derive != nil:
		out, how := a.derive(fx)
		sources = append(sources, source{how: how, stdout: out})
	case a.recorded:
		t.Errorf("goinfra prints another format than pyinfra for %s, and there is no recording of it", a.fact)
		return false
	default:
		sources = append(sources, source{how: "pyinfra's output (goinfra's command prints the same format)", stdout: fx.Output})
	}
	var want any
	if err := json.Unmarshal(fx.Fact, &want); err != nil {
		t.Fatal(err)
	}
	norm := func(v any) any { return v }
	if a.normalize != nil {
		norm = a.normalize
	}
	ok = true
	for _, s := range sources {
		v, err := f.Parse(output(s), args)
		if err != nil {
			t.Errorf("%s: %v", s.how, err)
			ok = false
			continue
		}
		b, _ := json.Marshal(v)
		var got any
		json.Unmarshal(b, &got)
		g, w := norm(got), norm(want)
		if u, ok := a.unlike[name]; ok {
			for _, f := range u.fields {
				drop(g, f)
				drop(w, f)
			}
			t.Logf("not compared: %v: %s", u.fields, u.why)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %s\nwant %s (pyinfra's: %s)", s.how, b, show(w), strings.TrimSpace(string(fx.Fact)))
			ok = false
		}
	}
	return ok
}

// drop deletes the field "a.b" of a value decoded from JSON.
func drop(v any, field string) {
	k, rest, more := strings.Cut(field, ".")
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if more {
		drop(m[k], rest)
		return
	}
	delete(m, k)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
