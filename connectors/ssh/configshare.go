package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Running `ssh -G` for every host of a large inventory costs a process (and
// OpenSSL's start-up) per host, about half of goinfra's own CPU when it
// connects to 20 hosts. Hosts that the config files cannot tell apart share
// runs instead: two hosts that match exactly the same Host patterns, with
// the same user, port, -o options and file contents, and with no Match,
// CanonicalizeHostname or token-bearing Include anywhere, get the same
// settings except for what is derived from the host name itself. The first
// two hosts of such a group are resolved by ssh; their outputs are compared
// line by line, and only if they differ in nothing but the host-derived
// lines ("host", "hostname", and those in the same shape) do the others get
// the second-hand result, with their own name put in. Anything the check
// cannot prove the same falls back to a run of its own.

// configScan is what the config files say about sharing.
type configScan struct {
	shareable bool
	patterns  []string // every Host pattern, lower-cased, without '!'
	digest    string   // of every file read, so edits start new groups
}

// maxConfigLine is the longest line scanConfig reads; a longer one makes
// the files unshareable.
const maxConfigLine = 1 << 20

// scanConfig reads the files ssh would read (configFile, or the user's and
// the system's files) with their Includes.
func scanConfig(configFile string, options []string) configScan {
	for _, o := range options {
		k, _, _ := strings.Cut(o, "=")
		if strings.EqualFold(strings.TrimSpace(k), "CanonicalizeHostname") {
			return configScan{}
		}
	}
	sc := configScan{shareable: true}
	h := sha256.New()
	var read func(path, rel string, depth int, mustExist bool)
	read = func(path, rel string, depth int, mustExist bool) {
		if !sc.shareable {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			if mustExist || !os.IsNotExist(err) {
				sc.shareable = false
			}
			return
		}
		h.Write([]byte(path))
		h.Write([]byte{0})
		h.Write(data)
		h.Write([]byte{0})
		for line := range bytes.Lines(data) {
			if len(line) > maxConfigLine {
				sc.shareable = false
				return
			}
			kw, args := configLine(string(trimEOL(line)))
			switch kw {
			case "":
			case "match", "canonicalizehostname":
				sc.shareable = false
				return
			case "host":
				for _, p := range args {
					sc.patterns = append(sc.patterns, strings.ToLower(strings.TrimPrefix(p, "!")))
				}
			case "include":
				if depth >= 16 {
					sc.shareable = false
					return
				}
				for _, a := range args {
					if strings.ContainsAny(a, "%$") {
						sc.shareable = false
						return
					}
					a = expandHome(a)
					if !filepath.IsAbs(a) {
						a = filepath.Join(rel, a)
					}
					matches, err := filepath.Glob(a)
					if err != nil {
						sc.shareable = false
						return
					}
					for _, m := range matches {
						read(m, rel, depth+1, false)
					}
				}
			}
		}
	}
	userDir := filepath.Join(homeDir(), ".ssh")
	if configFile != "" {
		read(configFile, userDir, 0, true)
	} else {
		read(filepath.Join(userDir, "config"), userDir, 0, false)
		read("/etc/ssh/ssh_config", "/etc/ssh", 0, false)
	}
	sc.digest = hex.EncodeToString(h.Sum(nil))
	return sc
}

// configLine splits an ssh_config line into its lower-cased keyword and its
// arguments (quotes removed); comments and blank lines give "".
func configLine(line string) (string, []string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), nil
	}
	kw := strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	var args []string
	for rest != "" {
		var a string
		if rest[0] == '"' {
			j := strings.IndexByte(rest[1:], '"')
			if j < 0 {
				a, rest = rest[1:], ""
			} else {
				a, rest = rest[1:1+j], rest[2+j:]
			}
		} else {
			j := strings.IndexAny(rest, " \t")
			if j < 0 {
				a, rest = rest, ""
			} else {
				a, rest = rest[:j], rest[j:]
			}
		}
		if a != "" && a[0] == '#' {
			break
		}
		args = append(args, a)
		rest = strings.TrimLeft(rest, " \t")
	}
	return kw, args
}

// matchPattern is OpenSSH's host pattern match: '*' any run, '?' one byte.
func matchPattern(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}

// shareGroup is the state of one group of indistinguishable hosts.
type shareGroup struct {
	mu        sync.Mutex
	reps      [2]lookup // the representatives, in order
	runs      int       // representatives started (at most 2)
	finished  int       // and finished
	out       [2][]byte // their outputs
	ok        [2]bool   // whether each run succeeded
	firstDone chan struct{}
	done      chan struct{} // closed when both are in
	tmpl      []tmplLine
	valid     bool
	// Whether the representatives differ in host (not only in case) and in
	// port: a template says nothing about a variable they share.
	hostVaries, portVaries bool
	// Whether a representative's name has upper-case letters: only then do
	// its lines tell the name as given from the name lower-cased.
	caseKnown bool
}

// tmplLine is one line of a group's output; sub says what is put for NUL:
// "" nothing, "h" the host as given, "l" the host lower-cased, "p" the port.
type tmplLine struct{ text, sub string }

var shareGroups struct {
	sync.Mutex
	m map[string]*shareGroup
}

// sharedG returns `ssh -G` output for l, from a run of its own or from its
// group's representatives; run does one real `ssh -G`. An explicit port
// (-p) is not part of the group: it only sets the "port" line.
func sharedG(ctx context.Context, l lookup, configFile string, options []string, run func() ([]byte, error)) ([]byte, error) {
	sc := scanConfig(configFile, options)
	if !sc.shareable || strings.ContainsRune(l.host, 0) {
		return run()
	}
	var key strings.Builder
	key.WriteString(sc.digest)
	for _, s := range []string{configFile, strings.Join(options, "\x00"), l.user, strconv.FormatBool(l.port != 0)} {
		key.WriteByte(0)
		key.WriteString(s)
	}
	key.WriteByte(0)
	for _, p := range sc.patterns {
		if matchPattern(strings.ToLower(l.host), p) {
			key.WriteByte('1')
		} else {
			key.WriteByte('0')
		}
	}
	shareGroups.Lock()
	if shareGroups.m == nil || len(shareGroups.m) > 1024 {
		shareGroups.m = map[string]*shareGroup{}
	}
	g := shareGroups.m[key.String()]
	if g == nil {
		g = &shareGroup{firstDone: make(chan struct{}), done: make(chan struct{})}
		shareGroups.m[key.String()] = g
	}
	shareGroups.Unlock()

	wait := func(ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	switch {
	case g.runs == 0 || (g.runs == 1 && l != g.reps[0]):
		i := g.runs
		g.runs++
		g.reps[i] = l
		g.mu.Unlock()
		out, err := run()
		g.mu.Lock()
		g.out[i], g.ok[i] = out, err == nil
		g.finished++
		if i == 0 {
			close(g.firstDone)
		}
		if g.finished == 2 {
			g.derive()
			close(g.done)
		}
		g.mu.Unlock()
		return out, err
	case l == g.reps[0]:
		g.mu.Unlock()
		if err := wait(g.firstDone); err != nil {
			return nil, err
		}
		if !g.ok[0] {
			return run()
		}
		return g.out[0], nil
	}
	g.mu.Unlock()
	if err := wait(g.done); err != nil {
		return nil, err
	}
	if l == g.reps[1] && g.ok[1] {
		return g.out[1], nil
	}
	r := g.reps[0]
	if !g.valid || (l.host != r.host && !g.hostVaries) || (l.port != r.port && !g.portVaries) ||
		(l.host != strings.ToLower(l.host) && !g.caseKnown) {
		return run()
	}
	// Sized once (every host of a large inventory comes here), with room
	// for the substitutions of a few lines.
	n := 0
	for _, t := range g.tmpl {
		n += len(t.text) + 1
	}
	b := make([]byte, 0, n+8*len(l.host))
	for _, t := range g.tmpl {
		switch t.sub {
		case "h":
			b = append(b, strings.ReplaceAll(t.text, "\x00", l.host)...)
		case "l":
			b = append(b, strings.ReplaceAll(t.text, "\x00", strings.ToLower(l.host))...)
		case "p":
			b = append(b, strings.ReplaceAll(t.text, "\x00", strconv.Itoa(l.port))...)
		default:
			b = append(b, t.text...)
		}
		b = append(b, '\n')
	}
	return b, nil
}

// derive builds the group's template from its two representatives: lines
// equal in both are kept; a line that differs must be the first output's
// line with its host name (as given, or lower-cased) or its explicit port
// put where the second output has the second one.
func (g *shareGroup) derive() {
	if !g.ok[0] || !g.ok[1] {
		return
	}
	a := strings.Split(strings.TrimRight(string(g.out[0]), "\n"), "\n")
	b := strings.Split(strings.TrimRight(string(g.out[1]), "\n"), "\n")
	if len(a) != len(b) {
		return
	}
	r0, r1 := g.reps[0], g.reps[1]
	g.hostVaries = !strings.EqualFold(r0.host, r1.host)
	g.portVaries = r0.port != r1.port
	g.caseKnown = r0.host != strings.ToLower(r0.host) || r1.host != strings.ToLower(r1.host)
	subs := func(i int) []tmplLine {
		var c []tmplLine
		if g.hostVaries {
			c = append(c, tmplLine{r0.host + "\x00" + r1.host, "h"},
				tmplLine{strings.ToLower(r0.host) + "\x00" + strings.ToLower(r1.host), "l"})
		}
		if g.portVaries && strings.HasPrefix(a[i], "port ") {
			c = append(c, tmplLine{strconv.Itoa(r0.port) + "\x00" + strconv.Itoa(r1.port), "p"})
		}
		return c
	}
	tmpl := make([]tmplLine, len(a))
	for i := range a {
		if strings.ContainsRune(a[i], 0) {
			return
		}
		if a[i] == b[i] {
			tmpl[i] = tmplLine{text: a[i]}
			continue
		}
		found := false
		for _, s := range subs(i) {
			from, to, _ := strings.Cut(s.text, "\x00")
			if strings.Contains(a[i], from) && strings.ReplaceAll(a[i], from, to) == b[i] {
				tmpl[i], found = tmplLine{strings.ReplaceAll(a[i], from, "\x00"), s.sub}, true
				break
			}
		}
		if !found {
			return
		}
	}
	g.tmpl, g.valid = tmpl, true
}
