package external

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/goinfra-dev/goinfra/connector"
)

// PathEnv lists directories searched for connector programs before PATH.
const PathEnv = "GOINFRA_CONNECTOR_PATH"

// SearchPath is where programs are looked for: dirs, then the directories
// in GOINFRA_CONNECTOR_PATH, then PATH. Earlier directories win.
func SearchPath(dirs ...string) []string {
	out := append([]string(nil), dirs...)
	out = append(out, filepath.SplitList(os.Getenv(PathEnv))...)
	out = append(out, filepath.SplitList(os.Getenv("PATH"))...)
	return out
}

var kindName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Candidate is a connector program found on the search path.
type Candidate struct {
	Kind string
	Path string
}

// Find lists the connector programs in dirs (the first of a name wins).
// Shadowed programs of the same kind are returned as warnings.
func Find(dirs []string) (found []Candidate, warnings []error) {
	seen := map[string]string{}
	listed := map[[2]uint64]bool{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		f, err := os.Open(dir)
		if err != nil {
			continue // PATH often names directories that do not exist
		}
		// A directory is listed once, however it is named (/bin and
		// /usr/bin are often the same, and large).
		if fi, err := f.Stat(); err == nil {
			if id, ok := fileID(fi); ok {
				if listed[id] {
					f.Close()
					continue
				}
				listed[id] = true
			}
		}
		// Names only, no per-entry stat: this runs over all of PATH.
		all, _ := f.Readdirnames(-1)
		f.Close()
		var names []string
		for _, n := range all {
			if strings.HasPrefix(n, Prefix) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			kind := strings.TrimPrefix(name, Prefix)
			if !kindName.MatchString(kind) {
				continue
			}
			path := filepath.Join(dir, name)
			fi, err := os.Stat(path) // follows symlinks
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			if first, dup := seen[kind]; dup {
				warnings = append(warnings, fmt.Errorf("connector program %s is shadowed by %s (kind %s)", path, first, kind))
				continue
			}
			seen[kind] = path
			found = append(found, Candidate{Kind: kind, Path: path})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Kind < found[j].Kind })
	return found, warnings
}

// registered remembers which program each kind came from, so that Register
// may be called again (a CLI run in-process more than once).
var (
	registeredMu sync.Mutex
	registered   = map[string]string{}
)

// Config controls Register.
type Config struct {
	// Dirs are searched before GOINFRA_CONNECTOR_PATH and PATH.
	Dirs []string
	// Log receives warnings (name clashes, broken programs) and, later,
	// the programs' stderr while expanding. Default slog.Default().
	Log *slog.Logger
}

// Register finds connector programs, does the handshake with each (in
// parallel, each bounded by the handshake timeout) and registers them with
// connector.Register. A kind that is already registered (a built-in) wins
// over a program of the same name. A program whose handshake fails is
// still registered, as a kind whose every use reports why, so that
// "@name/..." gives that reason instead of "unknown kind". Problems are
// logged as warnings; the returned error joins them too, for callers that
// want them (the CLI only logs).
func Register(ctx context.Context, cfg Config) ([]connector.Driver, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	cands, warnings := Find(SearchPath(cfg.Dirs...))
	var todo []Candidate
	registeredMu.Lock()
	defer registeredMu.Unlock()
	for _, c := range cands {
		if registered[c.Kind] == c.Path {
			continue // an earlier call registered this very program
		}
		if _, taken := connector.Lookup(c.Kind); taken {
			warnings = append(warnings, fmt.Errorf("connector program %s ignored: kind %s is already registered", c.Path, c.Kind))
			continue
		}
		todo = append(todo, c)
	}
	drivers := make([]connector.Driver, len(todo))
	var wg sync.WaitGroup
	for i, c := range todo {
		wg.Go(func() {
			d, err := Load(ctx, c.Kind, c.Path)
			if err != nil {
				err = fmt.Errorf("connector program %s: %w", c.Path, err)
				drivers[i] = &Broken{Kind: c.Kind, Path: c.Path, Err: err}
				return
			}
			switch p := d.(type) {
			case *Program:
				p.Log = log
			case *ExecProgram:
				p.Log = log
			}
			drivers[i] = d
		})
	}
	wg.Wait()
	for i, c := range todo {
		if b, ok := drivers[i].(*Broken); ok {
			warnings = append(warnings, b.Err)
		}
		if _, taken := connector.Lookup(c.Kind); taken {
			continue
		}
		connector.Register(c.Kind, drivers[i])
		registered[c.Kind] = c.Path
	}
	for _, w := range warnings {
		log.Warn(w.Error())
	}
	return drivers, errors.Join(warnings...)
}

// RegisterFromPath registers the connector programs found in dirs,
// GOINFRA_CONNECTOR_PATH and PATH, logging problems to slog.Default().
// It returns the problems joined, which callers normally only log.
func RegisterFromPath(dirs ...string) error {
	_, err := Register(context.Background(), Config{Dirs: dirs})
	return err
}

// Broken is a connector program that failed its handshake. It is
// registered so that using the kind explains the failure.
type Broken struct {
	Kind, Path string
	Err        error
}

// Expand always fails with the handshake error.
func (b *Broken) Expand(context.Context, string) ([]connector.Target, error) {
	return nil, fmt.Errorf("@%s: %w", b.Kind, b.Err)
}

// DataKeys is empty: the program never said.
func (b *Broken) DataKeys() []connector.DataKey { return nil }

// Description says the program is unusable and why.
func (b *Broken) Description() string { return "BROKEN external connector: " + b.Err.Error() }
