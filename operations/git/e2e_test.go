package git_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/git"
)

// localHost is @local as root with a fresh HOME, so that the user's git
// configuration the tests write is theirs.
func localHost(t *testing.T) (*optest.Host, string) {
	t.Helper()
	h := optest.Local(t, "the git tests chown clones: run them as root")
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Skip(t, "git is missing (scripts/test-deps.sh installs it)")
	}
	home := filepath.Join(h.Dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	h.Opts = connector.Options{Unix: command.Unix{Env: map[string]string{"HOME": home}}}
	return h, home
}

// upstream is a bare repository built here (no network): master has two
// commits, the first tagged v1; feature branches off master.
type upstream struct {
	t          *testing.T
	h          *optest.Host
	bare, work string
}

func newUpstream(t *testing.T, h *optest.Host) *upstream {
	u := &upstream{t: t, h: h, bare: filepath.Join(h.Dir, "origin.git"), work: filepath.Join(h.Dir, "work")}
	optest.Run(t, h, "git init -q --bare -b master "+u.bare+" && git init -q -b master "+u.work)
	u.commit("README", "one")
	u.git("tag v1")
	u.commit("README", "two")
	u.git("checkout -q -b feature")
	u.commit("FEATURE", "feature one")
	u.git("checkout -q master")
	u.git("push -q origin master feature v1")
	return u
}

func (u *upstream) git(args string) string {
	u.t.Helper()
	return optest.Run(u.t, u.h, "cd "+u.work+" && git -c user.name=goinfra -c user.email=tests@example.invalid "+args)
}

// commit writes file in the working copy and commits it (not pushed).
func (u *upstream) commit(file, content string) {
	u.t.Helper()
	if err := os.WriteFile(filepath.Join(u.work, file), []byte(content+"\n"), 0o644); err != nil {
		u.t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(u.work, ".git", "config")); err == nil {
		optest.Run(u.t, u.h, "cd "+u.work+" && git remote get-url origin >/dev/null 2>&1 || git remote add origin "+u.bare)
	}
	u.git("add -A && git -c user.name=goinfra -c user.email=tests@example.invalid commit -q -m " + command.Quote(content))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestRepoLocal clones a local bare repository on @local, pulls a new
// commit, switches to a branch and to a tag, and follows a changed src:
// each a change first and no change the second time.
func TestRepoLocal(t *testing.T) {
	h, _ := localHost(t)
	u := newUpstream(t, h)
	dest := filepath.Join(h.Dir, "clone")
	args := map[string]any{"src": u.bare, "dest": dest}

	d := optest.Describe(optest.Converge(t, h, "git.repo", args))
	if want := "mkdir -p " + dest + "; cd " + dest + " && git clone " + u.bare + " ."; d != want {
		t.Errorf("clone: %s\nwant %s", d, want)
	}
	if got := readFile(t, filepath.Join(dest, "README")); got != "two" {
		t.Fatalf("README %q", got)
	}
	ctx := optest.Ctx(t)
	if b, err := git.GitBranch.Get(ctx, h, git.Repo{Path: dest}); err != nil || b != "master" {
		t.Errorf("git.GitBranch %q %v", b, err)
	}
	if tags, err := git.GitTag.Get(ctx, h, git.Repo{Path: dest}); err != nil || strings.Join(tags, ",") != "v1" {
		t.Errorf("git.GitTag %q %v", tags, err)
	}
	if cfg, err := git.GitConfig.Get(ctx, h, git.ConfigScope{Repo: git.Repo{Path: dest}}); err != nil || strings.Join(cfg["remote.origin.url"], ",") != u.bare {
		t.Errorf("git.GitConfig %v %v", cfg, err)
	}

	// A new upstream commit: pulled once.
	u.commit("README", "three")
	u.git("push -q origin master")
	d = optest.Describe(optest.Converge(t, h, "git.repo", args))
	if want := "cd " + dest + " && git pull"; d != want {
		t.Errorf("pull: %s", d)
	}
	if got := readFile(t, filepath.Join(dest, "README")); got != "three" {
		t.Fatalf("README after pull %q", got)
	}

	// Another branch, then a tag (checked out, never pulled).
	d = optest.Describe(optest.Converge(t, h, "git.repo", map[string]any{"src": u.bare, "dest": dest, "branch": "feature", "rebase": true}))
	if want := "cd " + dest + " && git fetch; cd " + dest + " && git checkout feature; cd " + dest + " && git pull --rebase"; d != want {
		t.Errorf("branch: %s", d)
	}
	if got := readFile(t, filepath.Join(dest, "FEATURE")); got != "feature one" {
		t.Fatalf("FEATURE %q", got)
	}
	d = optest.Describe(optest.Converge(t, h, "git.repo", map[string]any{"src": u.bare, "dest": dest, "branch": "v1"}))
	if want := "cd " + dest + " && git fetch; cd " + dest + " && git checkout v1"; d != want {
		t.Errorf("tag: %s", d)
	}
	if got := readFile(t, filepath.Join(dest, "README")); got != "one" {
		t.Fatalf("README at v1 %q", got)
	}

	// The same repository under another URL: origin follows src.
	moved := "file://" + u.bare
	d = optest.Describe(optest.Converge(t, h, "git.repo", map[string]any{"src": moved, "dest": dest, "branch": "master", "update_submodules": false}))
	if !strings.HasPrefix(d, "cd "+dest+" && git remote set-url origin "+moved+"; ") {
		t.Errorf("moved src: %s", d)
	}
	if got := optest.Run(t, h, "cd "+dest+" && git remote get-url origin"); got != moved {
		t.Errorf("origin %q", got)
	}
	if got := readFile(t, filepath.Join(dest, "README")); got != "three" {
		t.Errorf("README back on master %q", got)
	}

	// A shallow clone of a branch, owned by another user.
	shallow := filepath.Join(h.Dir, "shallow")
	d = optest.Describe(optest.Converge(t, h, "git.repo", map[string]any{"src": "file://" + u.bare, "dest": shallow,
		"branch": "feature", "depth": 1, "user": "nobody"}))
	if !strings.Contains(d, "git clone file://"+u.bare+" --depth 1 --branch feature .; chown -R nobody "+shallow) {
		t.Errorf("shallow clone: %s", d)
	}
	if got := optest.Run(t, h, "stat -c %U "+shallow+"/FEATURE; cd "+shallow+" && git -c safe.directory="+shallow+" rev-list --count HEAD"); got != "nobody\n1" {
		t.Errorf("shallow clone owner and depth: %q", got)
	}
}

// TestConfigLocal sets a repository's and the user's git configuration
// on @local, a single value and an added one.
func TestConfigLocal(t *testing.T) {
	h, home := localHost(t)
	repo := filepath.Join(h.Dir, "repo")
	optest.Run(t, h, "git init -q "+repo)

	d := optest.Describe(optest.Converge(t, h, "git.config", map[string]any{"repo": repo, "key": "user.name", "value": `Anon "E." $Mouse`}))
	if want := "cd " + repo + ` && git config --local user.name "Anon \"E.\" \$Mouse"`; d != want {
		t.Errorf("repo: %s\nwant %s", d, want)
	}
	if got := optest.Run(t, h, "cd "+repo+" && git config --local user.name"); got != `Anon "E." $Mouse` {
		t.Errorf("user.name %q", got)
	}
	optest.Converge(t, h, "git.config", map[string]any{"repo": repo, "key": "user.name", "value": "Other"})

	for _, dir := range []string{"/a/safe/repo", "/another/safe/repo"} {
		d = optest.Describe(optest.Converge(t, h, "git.config", map[string]any{"key": "safe.directory", "value": dir, "multi_value": true}))
		if want := `git config --global --add safe.directory "` + dir + `"`; d != want {
			t.Errorf("global: %s", d)
		}
	}
	if got := readFile(t, filepath.Join(home, ".gitconfig")); !strings.Contains(got, "directory = /a/safe/repo") || !strings.Contains(got, "directory = /another/safe/repo") {
		t.Errorf("~/.gitconfig:\n%s", got)
	}
	cfg, err := git.GitConfig.Get(optest.Ctx(t), h, git.ConfigScope{})
	if err != nil || strings.Join(cfg["safe.directory"], ",") != "/a/safe/repo,/another/safe/repo" {
		t.Errorf("git.GitConfig %v %v", cfg, err)
	}
}

// TestKeyscanLocal: with ssh_keyscan, git.repo adds the key of an sshd
// started here (on a port of its own, so as [host]:port) to the
// known_hosts of the user it runs as, once.
func TestKeyscanLocal(t *testing.T) {
	h, home := localHost(t)
	if _, err := exec.LookPath("ssh-keyscan"); err != nil {
		testenv.Skip(t, "ssh-keyscan is missing (scripts/test-deps.sh installs openssh-client)")
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]
	port := strconv.Itoa(s.Port)
	dest := filepath.Join(h.Dir, "clone")
	args := map[string]any{"src": "ssh://git@" + s.Host + ":" + port + "/srv/repo.git", "dest": dest, "ssh_keyscan": true}
	clone := "cd " + dest + " && git clone ssh://git@" + s.Host + ":" + port + "/srv/repo.git ."

	p := optest.Plan(t, h, "git.repo", args)
	steps := strings.Split(optest.Describe(p), "; ")
	want := []string{"mkdir -p " + dest, "mkdir -p " + home + "/.ssh", "chmod 700 " + home + "/.ssh",
		"ssh-keyscan -p " + port + " " + s.Host + " >> " + home + "/.ssh/known_hosts", clone}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	// Everything but the clone (there is no repository behind the sshd).
	for _, st := range p.Steps[:len(p.Steps)-1] {
		if res, err := optest.Execute(t, h, st); err != nil {
			t.Fatalf("%s: %v: %s", st.Describe(), err, res.Output.Stderr())
		}
	}
	known := readFile(t, filepath.Join(home, ".ssh", "known_hosts"))
	if !strings.HasPrefix(known, "["+s.Host+"]:"+port+" ") {
		t.Fatalf("known_hosts:\n%s", known)
	}
	if d := optest.Describe(optest.Plan(t, h, "git.repo", args)); d != clone {
		t.Errorf("second plan: %s, want only the clone", d)
	}
}

// TestWorktreeLocal adds working trees of a clone on @local (detached at
// a tag, a new branch tracking a remote one, a new local branch), pulls
// the tracking one, and removes them: each run twice, the second planning
// nothing but where pyinfra pulls every time (a tree whose branch tracks
// a remote one).
func TestWorktreeLocal(t *testing.T) {
	h, _ := localHost(t)
	u := newUpstream(t, h)
	repo := filepath.Join(h.Dir, "clone")
	optest.Converge(t, h, "git.repo", map[string]any{"src": u.bare, "dest": repo})

	detached := filepath.Join(h.Dir, "at-v1")
	d := optest.Describe(optest.Converge(t, h, "git.worktree", map[string]any{"worktree": detached, "repo": repo, "detached": true, "commitish": "v1"}))
	if want := "cd " + repo + " && git worktree add --detach " + detached + " v1"; d != want {
		t.Errorf("detached: %s\nwant %s", d, want)
	}
	if got := readFile(t, filepath.Join(detached, "README")); got != "one" {
		t.Errorf("README at v1 %q", got)
	}

	local := filepath.Join(h.Dir, "local")
	optest.Converge(t, h, "git.worktree", map[string]any{"worktree": local, "repo": repo, "new_branch": "local"})
	if b, err := git.GitBranch.Get(optest.Ctx(t), h, git.Repo{Path: local}); err != nil || b != "local" {
		t.Errorf("git.GitBranch of the new branch's tree %q %v", b, err)
	}

	// A branch tracking origin/feature: pulled on every run, as in pyinfra.
	tracking := filepath.Join(h.Dir, "hotfix")
	args := map[string]any{"worktree": tracking, "repo": repo, "new_branch": "hotfix", "commitish": "origin/feature"}
	p := optest.Plan(t, h, "git.worktree", args)
	if want := "cd " + repo + " && git worktree add -b hotfix " + tracking + " origin/feature"; optest.Describe(p) != want {
		t.Errorf("tracking: %s\nwant %s", optest.Describe(p), want)
	}
	optest.Apply(t, h, p)
	if up, err := git.GitTrackingBranch.Get(optest.Ctx(t), h, git.Repo{Path: tracking}); err != nil || up != "origin/feature" {
		t.Fatalf("git.GitTrackingBranch %q %v", up, err)
	}
	u.git("checkout -q feature")
	u.commit("FEATURE", "feature two")
	u.git("push -q origin feature && git checkout -q master")
	pull := optest.Plan(t, h, "git.worktree", map[string]any{"worktree": tracking, "repo": repo, "rebase": true})
	if want := "cd " + tracking + " && git pull --rebase"; optest.Describe(pull) != want {
		t.Errorf("pull: %s\nwant %s", optest.Describe(pull), want)
	}
	optest.Apply(t, h, pull)
	if got := readFile(t, filepath.Join(tracking, "FEATURE")); got != "feature two" {
		t.Errorf("FEATURE after the pull %q", got)
	}

	// An untracked branch's tree pulls from the remote branch it is told.
	d = optest.Describe(optest.Plan(t, h, "git.worktree", map[string]any{"worktree": local, "from_remote_branch": []any{"origin", "feature"}}))
	if want := "cd " + local + " && git pull origin feature"; d != want {
		t.Errorf("from_remote_branch: %s", d)
	}
	if _, err := optest.TryPlan(t, h, "git.worktree", map[string]any{"worktree": local, "from_remote_branch": []any{"origin"}}); err != git.ErrRemoteBranch {
		t.Errorf("from_remote_branch of one: %v", err)
	}

	// A tree given to another user: git is told it is safe to work in.
	owned := filepath.Join(h.Dir, "owned")
	args = map[string]any{"worktree": owned, "repo": repo, "new_branch": "owned", "commitish": "origin/master", "user": "nobody"}
	d = optest.Describe(optest.Plan(t, h, "git.worktree", args))
	if want := "cd " + repo + " && git worktree add -b owned " + owned + " origin/master; chown -R nobody " + owned; d != want {
		t.Errorf("owned: %s\nwant %s", d, want)
	}
	optest.Apply(t, h, optest.Plan(t, h, "git.worktree", args))
	pull = optest.Plan(t, h, "git.worktree", args)
	if want := "cd " + owned + " && git -c safe.directory=" + owned + " pull"; optest.Describe(pull) != want {
		t.Errorf("owned pull: %s\nwant %s", optest.Describe(pull), want)
	}
	optest.Apply(t, h, pull)
	optest.Converge(t, h, "git.worktree", map[string]any{"worktree": owned, "present": false, "user": "nobody"})

	// A tree with changes is removed only with force.
	if err := os.WriteFile(filepath.Join(detached, "README"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = optest.Plan(t, h, "git.worktree", map[string]any{"worktree": detached, "present": false})
	if res, err := optest.Execute(t, h, p.Steps[0]); err == nil {
		t.Errorf("%s removed a tree with changes: %s", p.Steps[0].Describe(), res.Output.Stdout())
	}
	d = optest.Describe(optest.Converge(t, h, "git.worktree", map[string]any{"worktree": detached, "present": false, "force": true}))
	if want := "cd " + detached + " && git worktree remove . --force"; d != want {
		t.Errorf("remove: %s", d)
	}
	optest.Converge(t, h, "git.worktree", map[string]any{"worktree": local, "present": false})
	if got := optest.Run(t, h, "cd "+repo+" && git worktree list | wc -l"); got != "2" {
		t.Errorf("%s worktrees left, want the clone and hotfix", got)
	}

	_, err := optest.TryPlan(t, h, "git.worktree", map[string]any{"worktree": filepath.Join(h.Dir, "new"), "repo": h.Dir})
	if want := "The following folder is not a valid GIT repository : " + h.Dir; err == nil || err.Error() != want {
		t.Errorf("not a repository: %v", err)
	}
}

// TestBareRepoLocal creates a bare repository owned by another user on
// @local, gives it another group, and removes it: each run twice.
func TestBareRepoLocal(t *testing.T) {
	h, _ := localHost(t)
	path := filepath.Join(h.Dir, "shared.git")
	d := optest.Describe(optest.Converge(t, h, "git.bare_repo", map[string]any{"path": path, "user": "nobody"}))
	if want := "mkdir -p " + path + "; git init --bare " + path + "; chown -R nobody " + path; d != want {
		t.Errorf("init: %s\nwant %s", d, want)
	}
	if got := optest.Run(t, h, "git --git-dir="+path+" -c safe.directory='*' rev-parse --is-bare-repository; stat -c %U "+path+"/HEAD"); got != "true\nnobody" {
		t.Errorf("bare repository and owner: %q", got)
	}
	group := optest.Run(t, h, "id -gn nobody")
	d = optest.Describe(optest.Converge(t, h, "git.bare_repo", map[string]any{"path": path, "user": "nobody", "group": group}))
	if want := "chown -R nobody:" + group + " " + path; d != want {
		t.Errorf("group: %s", d)
	}
	optest.Converge(t, h, "git.bare_repo", map[string]any{"path": path, "present": false})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s after present=False: %v", path, err)
	}
}
