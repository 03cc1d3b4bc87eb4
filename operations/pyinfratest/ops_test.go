package pyinfratest_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/server"

	// server.service plans upstart and BSD init hosts with their modules'
	// operations.
	_ "github.com/goinfra-dev/goinfra/operations/bsdinit"
	_ "github.com/goinfra-dev/goinfra/operations/upstart"
)

// opAdapter tells how one of pyinfra's operations maps to goinfra's.
type opAdapter struct {
	// positional names pyinfra's positional arguments, in order.
	positional []string
	// skip, when set, is why no fixture of the operation can run.
	skip string
	// skipFixtures are fixtures that cannot run, with the reason.
	skipFixtures map[string]string
	// outcomeOnly: goinfra deliberately runs other commands; only whether
	// the plan changes something is compared, with the reason.
	outcomeOnly string
	// unordered: goinfra plans the same commands in another order (the
	// reason); they are compared as sets.
	unordered string
	// localSrc: the src argument is a local path under pyinfra's faked
	// "/", the fixture's local_files.
	localSrc bool
	// runPyinfra: with outcomeOnly, pyinfra's commands are also run with
	// sh on the file goinfra planned from (in a temporary directory, the
	// fixture's path argument replaced), and the file they leave must be
	// the one goinfra uploads, but for the reasons given by fixture.
	runPyinfra map[string]string
}

var opAdapters = map[string]opAdapter{
	"files.file": {positional: []string{"path"}},
	"files.directory": {positional: []string{"path"}, skipFixtures: map[string]string{
		"ignore_link_type": "_no_fail_on_link is pyinfra's internal argument (for the parent directory of files.put and files.file, which goinfra also accepts as a link)",
	}},
	"files.link": {positional: []string{"path", "target"}},
	"files.put": {positional: []string{"src", "dest"}, skipFixtures: map[string]string{
		"different_remote": "deliberate: after an upload goinfra changes only the attributes that differ (the replaced file keeps its owner and mode); pyinfra runs chown and chmod again",
	}},
	"files.get":      {positional: []string{"src", "dest"}},
	"files.template": {positional: []string{"src", "dest"}},
	"files.line": {positional: []string{"path", "line"}, runPyinfra: map[string]string{}, skipFixtures: map[string]string{
		"add_existing":     flagsABC,
		"add_replace":      flagsABC,
		"add_replace_noop": flagsABC,
		"edit":             flagsABC,
		"edit_backup":      flagsABC,
		"pathlib_edit":     flagsABC,
	},
		outcomeOnly: "deliberate: goinfra reads the file and writes it back whole and atomically, where pyinfra edits it with sed or appends with echo"},
	"files.block": {positional: []string{"path"}, runPyinfra: map[string]string{},
		outcomeOnly: "deliberate: goinfra finds the markers as text and edits the file in Go, writing it back whole and atomically, where pyinfra runs awk with the markers as regular expressions and the content in a shell word"},
	"files.replace": {positional: []string{"path", "text", "replace"}, runPyinfra: map[string]string{},
		outcomeOnly: "deliberate: goinfra edits the file in Go (RE2 patterns, as files.line) and writes it back whole and atomically, where pyinfra runs sed -i"},
	"files.download": {positional: []string{"src", "dest"}, skipFixtures: map[string]string{
		"download_with_checksums":              placeholderSum,
		"download_with_checksums_needs_quotes": placeholderSum,
		"download_existing_checksum":           placeholderSum,
	},
		outcomeOnly: "deliberate: goinfra picks curl or wget on the host when the step runs, downloads beside dest and verifies the checksums before moving the file over dest, in one command"},
	"files.sync": {positional: []string{"src", "dest"}, localSrc: true,
		unordered: "deliberate: goinfra walks the local directory in lexical order, pyinfra in the order of its faked os.walk"},
	"server.shell":  {positional: []string{"commands"}},
	"server.script": {positional: []string{"src"}, outcomeOnly: "deliberate: goinfra uploads the script to a temporary name it removes after the run; pyinfra leaves _tempfile_ behind"},
	"server.user": {positional: []string{"user"}, skipFixtures: map[string]string{
		"add":                      relativeHome,
		"add_home_is_link":         relativeHome,
		"add_invalid_home_is_file": relativeHome,
		"keys":                     relativeHome,
		"keys_delete":              relativeHome,
		"keys_single":              relativeHome,
		"key_files":                relativeHome,
		"keys_nohome":              "deliberate: goinfra appends keys fed on standard input (cat >>), never on a command line, and sets the file's mode after writing it",
		"add_non_unique":           "deliberate: goinfra passes useradd -o only with a uid (useradd refuses -o without -u, so pyinfra's command fails on a host)",
	}},
	"server.group": {positional: []string{"group"}, skipFixtures: map[string]string{
		"add": "equivalent: goinfra writes groupadd's options before the name (groupadd -r --gid 1000 somegroup), pyinfra after it",
	}},
	"server.service": {positional: []string{"service"}},
	"apt.packages": {positional: []string{"packages"}, skipFixtures: map[string]string{
		"update_cache_old": aptUpdate,
		"update_nocache":   aptUpdate,
		"update_upgrade":   aptUpdate,
	}},
}

// Reasons shared by several fixtures.
const (
	flagsABC       = "deliberate: flags=\"abc\" are no sed flags (a placeholder pyinfra passes to sed unread); goinfra edits in Go and refuses flags other than g, i and I"
	relativeHome   = "deliberate: goinfra refuses a relative home directory (home=\"homedir\"), which useradd would take relative to nothing"
	placeholderSum = "deliberate: goinfra refuses a checksum that is not hex of its algorithm's length, as the fixture's \"sha1-sum\" (no download could match it)"
	aptUpdate      = "deliberate: goinfra's apt-get update runs with the noninteractive options of every apt-get call, and creates the stamp's directory before touching it"
)

// fakeHost answers goinfra's facts from a fixture's pyinfra facts.
type fakeHost struct {
	fx  *opFixture
	dir string // the local directory, pyinfra's "/"
	// missing collects the pyinfra facts goinfra needed and the fixture
	// lacks.
	missing []string
}

var (
	_ operations.Host       = (*fakeHost)(nil)
	_ operations.LocalDirer = (*fakeHost)(nil)
)

func (h *fakeHost) Name() string         { return "somehost" }
func (h *fakeHost) Data() connector.Data { return connector.Data{} }
func (h *fakeHost) LocalDir() string     { return h.dir }
func (h *fakeHost) raw(fact string) (map[string]any, bool) {
	m, ok := h.fx.Facts[fact]
	return m, ok
}

// value is the pyinfra fact's value for args ("path=/x"); ok is false when
// the fixture has no such fact at all (pyinfra's test would fail).
func (h *fakeHost) value(fact, key string) (any, bool) {
	raw, ok := h.fx.RawFacts[fact]
	if !ok {
		h.missing = append(h.missing, fact)
		return nil, false
	}
	if key == "" {
		var v any
		json.Unmarshal(raw, &v)
		return v, true
	}
	m, _ := h.raw(fact)
	for k, v := range m {
		if sortedKey(k) == sortedKey(key) {
			return v, true
		}
	}
	return nil, true // pyinfra's fake answers None for an argument it lacks
}

func sortedKey(k string) string {
	parts := strings.Split(k, ", ")
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

var errNoFact = fmt.Errorf("the fixture has no such fact")

func (h *fakeHost) Fact(_ context.Context, name string, args facts.Args) (any, error) {
	path := "path=" + args["path"]
	switch name {
	case "files.File":
		v, ok := h.value("files.File", path)
		if !ok {
			return nil, errNoFact
		}
		if v == nil {
			// pyinfra asks files.Directory where files.File says
			// nothing: goinfra's files.File tells a directory itself.
			if d, _ := h.value("files.Directory", path); d != nil && d != false {
				return &files.RegularInfo{NotFile: true, Type: "directory"}, nil
			}
		}
		switch v := v.(type) {
		case nil:
			return nil, nil
		case bool:
			if !v {
				typ := "symbolic link"
				if d, _ := h.value("files.Directory", path); d != nil && d != false {
					typ = "directory"
				}
				return &files.RegularInfo{NotFile: true, Type: typ}, nil
			}
			return &files.RegularInfo{}, nil
		case map[string]any:
			return &files.RegularInfo{FileInfo: fileInfo(v)}, nil
		}
	case "files.Directory":
		v, ok := h.value("files.Directory", path)
		if !ok {
			// pyinfra asks File first where goinfra asks Directory: a
			// file there is no directory.
			if f, ok := h.fx.RawFacts["files.File"]; ok && strings.Contains(string(f), `"`+path+`"`) {
				if fv, _ := h.value("files.File", path); fv != nil {
					return &files.DirInfo{NotDir: true}, nil
				}
			}
			return nil, errNoFact
		}
		switch v := v.(type) {
		case nil:
			return nil, nil
		case bool:
			if !v {
				return &files.DirInfo{NotDir: true}, nil
			}
			return &files.DirInfo{}, nil
		case map[string]any:
			return &files.DirInfo{FileInfo: fileInfo(v)}, nil
		}
	case "files.Link":
		v, ok := h.value("files.Link", path)
		if !ok {
			return nil, errNoFact
		}
		switch v := v.(type) {
		case nil:
			return nil, nil
		case bool:
			if !v {
				return &files.LinkInfo{NotLink: true}, nil
			}
			return &files.LinkInfo{}, nil
		case map[string]any:
			t, _ := v["link_target"].(string)
			return &files.LinkInfo{FileInfo: fileInfo(v), LinkTarget: t}, nil
		}
	case "files.FindFiles":
		v, _ := h.value(name, path)
		out := []string{}
		l, _ := v.([]any)
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
		return out, nil
	case "files.Sha1File", "files.Md5File":
		v, _ := h.value(name, path)
		s, _ := v.(string)
		return s, nil
	case "files.FileSha256", "files.FileDigest":
		// pyinfra compares a SHA-1: the fixture's equals the local
		// file's when the remote copy is the same.
		info, err := h.Fact(context.Background(), "files.File", args)
		if err != nil || info == nil {
			return nil, err
		}
		r := info.(*files.RegularInfo)
		if r.NotFile {
			return nil, &files.NotRegularError{Path: args["path"], Type: r.Type}
		}
		if name == "files.FileDigest" {
			return &files.Digest{Mode: r.Mode, Size: r.Size, Sha256: h.remoteSum(args["path"])}, nil
		}
		return &files.FileSum{FileInfo: r.FileInfo, Sha256: h.remoteSum(args["path"])}, nil
	case "files.Sha256File":
		if info, err := h.Fact(context.Background(), "files.File", args); err != nil || info == nil {
			return nil, err
		}
		return h.remoteSum(args["path"]), nil
	case "files.FileContents":
		if _, ok := h.raw("files.Block"); ok {
			return h.blockContents(args["path"])
		}
		// pyinfra's files.line reads the matching lines (FindInFile):
		// they stand for the file (null: missing).
		m, ok := h.raw("files.FindInFile")
		if !ok {
			h.missing = append(h.missing, "files.FindInFile")
			return nil, errNoFact
		}
		for k, v := range m {
			if !contains(strings.Split(k, ", "), path) {
				continue
			}
			l, ok := v.([]any)
			if !ok {
				return nil, nil
			}
			var b strings.Builder
			for _, x := range l {
				b.WriteString(fmt.Sprint(x) + "\n")
			}
			s := b.String()
			return &s, nil
		}
		return nil, nil
	case "files.ShellExpand":
		// The fixtures' texts have nothing for a shell to expand.
		return args["text"], nil
	case "server.Os", "server.Date":
		v, ok := h.value(name, "")
		if !ok {
			return nil, errNoFact
		}
		if s, ok := v.(string); ok && strings.HasPrefix(s, "datetime:") {
			t, _ := time.Parse("2006-01-02T15:04:05", strings.TrimPrefix(s, "datetime:"))
			return t, nil
		}
		return v, nil
	case "server.Groups":
		v, ok := h.value(name, "")
		if !ok {
			return nil, errNoFact
		}
		out := []string{}
		switch v := v.(type) {
		case []any:
			for _, g := range v {
				out = append(out, fmt.Sprint(g))
			}
		case map[string]any:
			for g := range v {
				out = append(out, g)
			}
		}
		return out, nil
	case "server.Users":
		v, ok := h.value(name, "")
		if !ok {
			return nil, errNoFact
		}
		m, _ := v.(map[string]any)
		out := map[string]*server.UserInfo{}
		for n, u := range m {
			um, _ := u.(map[string]any)
			ui := &server.UserInfo{Groups: []string{}}
			str := func(k string) *string {
				if s, ok := um[k].(string); ok {
					return &s
				}
				return nil
			}
			ui.Home, ui.Comment, ui.Shell = str("home"), str("comment"), str("shell")
			if g, ok := um["group"].(string); ok {
				ui.Group = g
			}
			if gs, ok := um["groups"].([]any); ok {
				for _, g := range gs {
					ui.Groups = append(ui.Groups, fmt.Sprint(g))
				}
			}
			if n, ok := um["uid"].(float64); ok {
				ui.UID = int(n)
			}
			out[n] = ui
		}
		return out, nil
	case "server.PasswordDigest":
		v, _ := h.value("server.Users", "")
		m, _ := v.(map[string]any)
		u, _ := m[args["user"]].(map[string]any)
		pw, ok := u["password"].(string)
		if !ok {
			return "", nil
		}
		sum := sha256.Sum256([]byte(pw + "\n"))
		return hex.EncodeToString(sum[:]), nil
	case "apt.DebPackages":
		v, ok := h.value("deb.DebPackages", "")
		if !ok {
			return nil, errNoFact
		}
		m, _ := v.(map[string]any)
		out := map[string][]string{}
		for n, vs := range m {
			l, _ := vs.([]any)
			for _, x := range l {
				out[n] = append(out[n], fmt.Sprint(x))
			}
			if out[n] == nil {
				out[n] = []string{}
			}
		}
		return out, nil
	case "server.InitSystem":
		which := func(c string) bool { v, _ := h.value("server.Which", "command="+c); return v != nil && v != false }
		dir := func(p string) bool { v, _ := h.value("files.Directory", "path="+p); return v != nil && v != false }
		os, _ := h.value("server.Os", "")
		switch {
		case which("systemctl"):
			return server.Systemd, nil
		case which("rc-service") || h.fx.RawFacts["openrc.OpenrcStatus"] != nil:
			return server.OpenRC, nil
		case which("initctl"):
			return server.Upstart, nil
		case os != nil && os != "Linux" && dir("/etc/rc.d"):
			return server.BSDInit, nil
		case which("service") || dir("/etc/init.d"):
			return server.SysVinit, nil
		}
		h.missing = append(h.missing, "an init system goinfra knows (systemd, openrc, upstart, bsdinit, sysvinit)")
		return "", nil
	case "upstart.UpstartStatus", "bsdinit.RcdStatus":
		// The modules' own facts, as pyinfra's: {service: running}.
		raw, ok := h.fx.RawFacts[name]
		if !ok {
			h.missing = append(h.missing, name)
			return nil, errNoFact
		}
		if name == "upstart.UpstartStatus" {
			var m map[string]bool
			err := json.Unmarshal(raw, &m)
			return m, err
		}
		var m map[string]*bool
		err := json.Unmarshal(raw, &m)
		return m, err
	case "server.ServiceStatus":
		fact := map[string]string{server.Systemd: "systemd.SystemdStatus", server.OpenRC: "openrc.OpenrcStatus", server.SysVinit: "sysvinit.InitdStatus"}[args["init"]]
		m, ok := h.raw(fact)
		if !ok {
			h.missing = append(h.missing, fact)
			return nil, errNoFact
		}
		for k, v := range m {
			if k == args["service"] || strings.Contains(k, "'"+args["service"]+"'") {
				if inner, ok := v.(map[string]any); ok {
					v = inner[args["service"]]
				}
				b, ok := v.(bool)
				if !ok {
					return &server.ServiceState{}, nil
				}
				return &server.ServiceState{Running: &b}, nil
			}
		}
		return &server.ServiceState{}, nil
	case "server.Which":
		v, ok := h.value("server.Which", "command="+args["command"])
		if !ok || v == nil || v == false {
			return "", nil
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		return "/usr/bin/" + args["command"], nil
	}
	h.missing = append(h.missing, "goinfra's "+name)
	return nil, fmt.Errorf("no translation of %s", name)
}

// blockContents is a file's content made from pyinfra's files.Block fact
// (the lines between the default markers; [] no markers; null no file),
// for files.block: lines around the block.
func (h *fakeHost) blockContents(p string) (any, error) {
	m, _ := h.raw("files.Block")
	for k, v := range m {
		if !strings.HasPrefix(k, "path="+p+",") {
			continue
		}
		l, ok := v.([]any)
		if !ok {
			return nil, nil
		}
		s := "first line\n"
		if len(l) > 0 {
			s += "# BEGIN PYINFRA BLOCK\n"
			for _, x := range l {
				s += fmt.Sprint(x) + "\n"
			}
			s += "# END PYINFRA BLOCK\n"
		}
		// A line the fixtures' line= patterns match ("before this",
		// escaped "before this *"): pyinfra's awk, when no line matches,
		// prints an empty line for the block (its ARGV[2] is cleared by
		// then), where goinfra appends the block as pyinfra documents.
		s += "before this *\nlast line\n"
		return &s, nil
	}
	return nil, nil
}

// fileInfo reads a pyinfra file fact's attributes.
func fileInfo(v map[string]any) files.FileInfo {
	fi := files.FileInfo{}
	fi.User, _ = v["user"].(string)
	fi.Group, _ = v["group"].(string)
	if m, ok := v["mode"].(float64); ok {
		fi.Mode = int(m)
	}
	if s, ok := v["mtime"].(string); ok {
		fi.MTime, _ = time.Parse("2006-01-02T15:04:05", strings.TrimPrefix(s, "datetime:"))
	}
	return fi
}

// remoteSum is the remote file's SHA-256 as goinfra would see it: the
// local file's when the fixture's SHA-1 is the local file's, else another.
func (h *fakeHost) remoteSum(p string) string {
	v, _ := h.value("files.Sha1File", "path="+p)
	remote, _ := v.(string)
	for _, content := range h.localContents() {
		s1 := sha1.Sum([]byte(content))
		if remote == hex.EncodeToString(s1[:]) {
			s := sha256.Sum256([]byte(content))
			return hex.EncodeToString(s[:])
		}
	}
	s := sha256.Sum256([]byte("not the local file"))
	return hex.EncodeToString(s[:])
}

func (h *fakeHost) localContents() []string {
	var out []string
	filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			out = append(out, string(b))
		}
		return nil
	})
	return out
}

// writeLocal makes the fixture's local files under dir, as pyinfra's test
// fakes them under "/" (null content is "_test_data_").
func writeLocal(t *testing.T, dir string, lf *localFiles) {
	if lf == nil {
		return
	}
	for name, content := range lf.Files {
		c := "_test_data_"
		if content != nil {
			c = *content
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, sub := range lf.Dirs {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		writeLocal(t, filepath.Join(dir, name), &sub)
	}
}

// timestamp is goinfra's backup suffix; pyinfra's test fixes its own to
// "a-timestamp".
var timestamp = regexp.MustCompile(`\.\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\b`)

// described is a goinfra step as pyinfra's fixtures write commands.
func described(h *fakeHost, s operations.Step) any {
	switch s := s.(type) {
	case *operations.Command:
		return timestamp.ReplaceAllString(s.Cmd.String(), ".a-timestamp")
	case *operations.Upload:
		src := s.Src
		if rel, err := filepath.Rel(h.dir, s.Src); err == nil && !strings.HasPrefix(rel, "..") {
			src = "/" + rel
		}
		return []any{"upload", src, s.Dest}
	case *operations.Download:
		dest := s.Dest
		if rel, err := filepath.Rel(h.dir, s.Dest); err == nil && !strings.HasPrefix(rel, "..") {
			dest = "/" + rel
		}
		return []any{"download", s.Src, dest}
	}
	return s.Describe()
}

// uploadContent is the content an upload step sends.
func uploadContent(s operations.Step) string {
	u, ok := s.(*operations.Upload)
	if !ok {
		return ""
	}
	r, err := u.Open()
	if err != nil {
		return ""
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// TestPyinfraOperationFixtures plans every operation fixture of pyinfra's
// for an operation goinfra has, against the fixture's facts translated to
// goinfra's, and compares the commands. go test -v logs the counts per
// operation and every skipped fixture with its reason.
func TestPyinfraOperationFixtures(t *testing.T) {
	ty := newTally()
	defer ty.log(t)
	all := fixtures(t, "operations")
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, dir := range names {
		a, ok := opAdapters[dir]
		if !ok {
			t.Errorf("%s: no adapter", dir)
			continue
		}
		for _, name := range all[dir] {
			t.Run(dir+"/"+name, func(t *testing.T) {
				if why := a.skip + a.skipFixtures[name]; why != "" {
					ty.skipped[dir] = append(ty.skipped[dir], name+": "+why)
					t.Skip(why)
				}
				switch why := opFixtureRun(t, a, dir, name); why {
				case "":
					ty.pass[dir]++
				case "fail":
					ty.fail[dir]++
				default:
					ty.skipped[dir] = append(ty.skipped[dir], name+": "+why)
					t.Skip(why)
				}
			})
		}
	}
}

// opFixtureRun runs one fixture: "" when it passes, "fail", or why it
// cannot run.
func opFixtureRun(t *testing.T, a opAdapter, dir, name string) string {
	var fx opFixture
	load(t, &fx, "operations", dir, name+".json")
	fx.Facts = map[string]map[string]any{}
	for k, raw := range fx.RawFacts {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			fx.Facts[k] = m
		}
	}
	if len(fx.RequirePlatform) > 0 && !contains(fx.RequirePlatform, "Linux") {
		return "pyinfra runs it on " + strings.Join(fx.RequirePlatform, ", ") + " only"
	}
	op, ok := operations.Lookup(dir)
	if !ok {
		t.Fatalf("%s is not registered", dir)
	}
	args := map[string]any{}
	for i, v := range fx.Args {
		if i >= len(a.positional) {
			return fmt.Sprintf("positional argument %d has no goinfra name", i+1)
		}
		args[a.positional[i]] = v
	}
	for k, v := range fx.Kwargs {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "path:") {
			v = strings.TrimPrefix(s, "path:")
		}
		if strings.HasPrefix(k, "_") {
			return "global argument " + k + " in an operation's arguments"
		}
		args[k] = v
	}
	for k, v := range args {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "path:") {
			args[k] = strings.TrimPrefix(s, "path:")
		}
	}
	h := &fakeHost{fx: &fx, dir: t.TempDir()}
	if s, ok := args["src"].(string); ok && a.localSrc {
		args["src"] = filepath.Join(h.dir, s)
	}
	writeLocal(t, h.dir, fx.LocalFiles)
	checked, err := operations.CheckArgs(op, args)
	var plan *operations.Plan
	if err == nil {
		plan, err = op.Plan(context.Background(), h, checked)
	}
	if fx.Exception != nil && err != nil && !errors.Is(err, errNoFact) {
		t.Logf("pyinfra: %s; goinfra: %v", fx.Exception.Message, err)
		return ""
	}
	if len(h.missing) > 0 && err != nil {
		return fmt.Sprintf("goinfra needs %s, which the fixture does not give (%v)", strings.Join(dedup(h.missing), ", "), err)
	}
	if fx.Exception != nil {
		if err == nil {
			t.Errorf("pyinfra raises %s %q; goinfra plans %q", fx.Exception.Name, fx.Exception.Message, steps(h, plan))
			return "fail"
		}
		t.Logf("pyinfra: %s; goinfra: %v", fx.Exception.Message, err)
		return ""
	}
	if err != nil {
		if strings.Contains(err.Error(), "unknown argument") {
			return "goinfra lacks the argument: " + err.Error()
		}
		t.Errorf("goinfra: %v; pyinfra: %q", err, fx.Commands)
		return "fail"
	}
	got := steps(h, plan)
	if a.outcomeOnly != "" {
		if (len(got) == 0) != (len(fx.Commands) == 0) {
			t.Errorf("%s\ngoinfra plans %q, pyinfra %q", a.outcomeOnly, got, fx.Commands)
			return "fail"
		}
		t.Logf("compared change or not only: %s", a.outcomeOnly)
		if a.runPyinfra != nil && len(got) > 0 {
			if why, ok := a.runPyinfra[name]; ok {
				t.Logf("pyinfra's commands not run: %s", why)
				return ""
			}
			if !samePyinfraEdit(t, h, plan, fx) {
				return "fail"
			}
		}
		return ""
	}
	if sameCommands(h, plan, got, fx.Commands) {
		return ""
	}
	if a.unordered != "" && reflect.DeepEqual(sortedJSON(got), sortedJSON(fx.Commands)) {
		t.Logf("compared as sets: %s", a.unordered)
		return ""
	}
	if swapped := chownFirst(fx.Commands); swapped != nil && sameCommands(h, plan, got, swapped) {
		t.Logf("deliberate: chown before chmod (chown clears set-id bits)")
		return ""
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(fx.Commands)
	t.Errorf("commands differ:\ngoinfra %s\npyinfra %s", gb, wb)
	return "fail"
}

// samePyinfraEdit runs pyinfra's commands of an editing fixture on the
// content goinfra planned from and compares the file they leave with
// goinfra's upload.
func samePyinfraEdit(t *testing.T, h *fakeHost, plan *operations.Plan, fx opFixture) bool {
	t.Helper()
	var up *operations.Upload
	for _, s := range plan.Steps {
		if u, ok := s.(*operations.Upload); ok {
			up = u
		}
	}
	if up == nil {
		t.Errorf("goinfra plans no upload: %q", steps(h, plan))
		return false
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Logf("pyinfra's commands not run: no sh on this controller")
		return true
	}
	p, _ := fx.Args[0].(string)
	file := filepath.Join(t.TempDir(), "edited")
	if old, _ := h.Fact(context.Background(), "files.FileContents", facts.Args{"path": p}); old != nil {
		if err := os.WriteFile(file, []byte(*old.(*string)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range fx.Commands {
		line, _ := c.(string)
		line = strings.ReplaceAll(line, p, file)
		if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
			t.Errorf("pyinfra's %q: %v: %s", line, err, out)
			return false
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := uploadContent(up); string(b) != want {
		t.Errorf("pyinfra's commands leave %q, goinfra uploads %q", b, want)
		return false
	}
	t.Logf("pyinfra's commands, run, leave the file goinfra uploads")
	return true
}

// sortedJSON is l's elements as JSON, sorted.
func sortedJSON(l []any) []string {
	out := make([]string, len(l))
	for i, x := range l {
		b, _ := json.Marshal(x)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// commandSteps are p's steps but local work (*operations.Func).
func commandSteps(p *operations.Plan) []operations.Step {
	var out []operations.Step
	for _, s := range p.Steps {
		if _, ok := s.(*operations.Func); !ok {
			out = append(out, s)
		}
	}
	return out
}

func steps(h *fakeHost, p *operations.Plan) []any {
	out := []any{}
	if p == nil {
		return out
	}
	for _, s := range p.Steps {
		if _, ok := s.(*operations.Func); ok {
			// Local work (files.get's create_local_dir): pyinfra does it
			// while planning, goinfra as a step, so that a dry run
			// changes nothing.
			continue
		}
		out = append(out, described(h, s))
	}
	return out
}

// sameCommands compares goinfra's steps with pyinfra's commands; an
// upload matches by source path or by content.
func sameCommands(h *fakeHost, p *operations.Plan, got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if reflect.DeepEqual(got[i], want[i]) {
			continue
		}
		gs, ok1 := got[i].(string)
		ws, ok2 := want[i].(string)
		if ok1 && ok2 && reflect.DeepEqual(words(gs), words(ws)) {
			continue
		}
		w, ok1 := want[i].([]any)
		g, ok2 := got[i].([]any)
		if ok1 && ok2 && len(w) == 3 && len(g) == 3 && w[0] == "upload" && g[0] == "upload" && w[2] == g[2] &&
			w[1] == uploadContent(commandSteps(p)[i]) {
			continue
		}
		return false
	}
	return true
}

// chownFirst is pyinfra's commands with every chmod directly followed by a
// chown (or chgrp) of the same path swapped: goinfra's order.
func chownFirst(cmds []any) []any {
	out := append([]any{}, cmds...)
	swapped := false
	for i := 0; i+1 < len(out); i++ {
		a, ok1 := out[i].(string)
		b, ok2 := out[i+1].(string)
		if ok1 && ok2 && strings.HasPrefix(a, "chmod ") && (strings.HasPrefix(b, "chown ") || strings.HasPrefix(b, "chgrp ")) &&
			lastWord(a) == lastWord(b) {
			out[i], out[i+1] = b, a
			swapped = true
			i++
		}
	}
	if !swapped {
		return nil
	}
	return out
}

// words splits a command line as the shell would (quotes removed), with
// goinfra's "export K=V && cmd" read as pyinfra's "K=V cmd": the same
// words reach the program.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	if len(out) > 2 && out[0] == "export" && out[2] == "&&" && strings.Contains(out[1], "=") {
		out = append([]string{out[1]}, out[3:]...)
	}
	return out
}

func lastWord(s string) string {
	f := strings.Fields(s)
	return f[len(f)-1]
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func dedup(l []string) []string {
	sort.Strings(l)
	out := l[:0]
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}
