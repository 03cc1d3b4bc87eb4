package main

// Tests of what users install: the README's build command and
// scripts/release.sh (archives, checksums, packages, the container image,
// the .deb installed in a Debian container). They build goinfra several
// times and start containers: minutes with a cold build cache.

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// versionLine is `goinfra version`'s output: version, commit, commit date,
// toolchain and platform.
var versionLine = regexp.MustCompile(`^goinfra (v\S+) \(commit ([0-9a-f]{40}), (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), go\S+ (\w+/\w+)\)\n$`)

// headCommit is the checked-out commit, or "" without git.
func headCommit(root string) string {
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestReadmeBuild runs the README's build command: the binary must be
// static and print a real version and commit.
func TestReadmeBuild(t *testing.T) {
	_, root := goTool(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(string(readme)) {
		if strings.HasPrefix(l, "CGO_ENABLED=0 go build ") {
			line = strings.TrimSpace(l)
			break
		}
	}
	if !strings.Contains(line, " -o goinfra ") {
		t.Fatalf("README: no build command \"CGO_ENABLED=0 go build … -o goinfra …\" (found %q)", line)
	}
	bin := filepath.Join(t.TempDir(), "goinfra")
	cmd := exec.Command("sh", "-c", strings.Replace(line, " -o goinfra ", " -o '"+bin+"' ", 1))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	checkBinary(t, bin, runtime.GOOS, runtime.GOARCH)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("goinfra version: %v", err)
	}
	m := versionLine.FindStringSubmatch(string(out))
	if m == nil {
		if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && !fi.IsDir() {
			testenv.Skip(t, "version %q: go build records no VCS information in a git worktree (.git is a file); a clone is stamped", out)
		}
		t.Fatalf("goinfra version: %q, want a version and a commit", out)
	}
	if head := headCommit(root); head != "" && m[2] != head {
		t.Errorf("version names commit %s, the checkout is %s", m[2], head)
	}
}

// release holds one run of scripts/release.sh.
type release struct {
	root, dist, version, image string
	files                      map[string]bool
}

// TestRelease runs scripts/release.sh and checks everything it makes: an
// archive per target with a binary for it (static and stripped on Linux),
// SHA256SUMS, deb/rpm/apk packages, a byte-identical second build, the
// .deb installed in a Debian container and the FROM scratch image.
func TestRelease(t *testing.T) {
	_, root := goTool(t)
	for _, tool := range []string{"bash", "git", "tar", "gzip", "zip", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "scripts/release.sh needs %s: %v", tool, err)
		}
	}
	if headCommit(root) == "" {
		testenv.Skip(t, "scripts/release.sh needs a git checkout")
	}
	platform, dockerErr := dockerPlatform()
	r := &release{root: root, dist: filepath.Join(t.TempDir(), "dist")}
	args := []string{"--dist", r.dist}
	if dockerErr == nil {
		r.image = "goinfra-test/release:" + randomHex(4)
		args = append(args, "--image", r.image)
		t.Cleanup(func() { exec.Command("docker", "image", "rm", "--force", r.image).Run() })
	} else {
		args = append(args, "--no-image")
	}
	r.run(t, args...)
	r.list(t)

	t.Run("SHA256SUMS", r.checkSums)
	var line string
	t.Run("archives", func(t *testing.T) { line = r.checkArchives(t) })
	t.Run("packages", r.checkPackages)
	t.Run("reproducible", r.checkReproducible)
	t.Run("deb in Debian", func(t *testing.T) {
		if dockerErr != nil {
			testenv.Skip(t, "no docker engine: %v", dockerErr)
		}
		r.checkDeb(t, platform, line)
	})
	t.Run("image", func(t *testing.T) {
		if dockerErr != nil {
			testenv.Skip(t, "no docker engine: %v", dockerErr)
		}
		out, err := exec.Command("docker", "run", "--rm", "--network", "none", r.image, "version").CombinedOutput()
		if err != nil || string(out) != line {
			t.Errorf("docker run %s version: %v\n%s\nwant %q", r.image, err, out, line)
		}
	})
}

// dockerPlatform is the engine's os/arch, or why there is no engine.
func dockerPlatform() (string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker version: %w: %s", err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run runs scripts/release.sh with args; VERSION and SOURCE_DATE_EPOCH
// come from the checkout, as in a real release.
func (r *release) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(r.root, "scripts", "release.sh")}, args...)...)
	cmd.Dir = r.root
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERSION=") && !strings.HasPrefix(kv, "SOURCE_DATE_EPOCH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/release.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("scripts/release.sh %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Second))
}

// list reads the version from the archive names and checks that dist
// holds exactly the expected files.
func (r *release) list(t *testing.T) {
	entries, err := os.ReadDir(r.dist)
	if err != nil {
		t.Fatal(err)
	}
	r.files = map[string]bool{}
	for _, e := range entries {
		r.files[e.Name()] = true
		if v, ok := strings.CutSuffix(e.Name(), "_linux_amd64.tar.gz"); ok {
			r.version = strings.TrimPrefix(v, "goinfra_")
		}
	}
	if !strings.HasPrefix(r.version, "v") {
		t.Fatalf("no goinfra_VERSION_linux_amd64.tar.gz in %v", slices.Sorted(maps.Keys(r.files)))
	}
	want := []string{"SHA256SUMS"}
	for _, tg := range targets {
		ext := ".tar.gz"
		if tg.goos == "windows" {
			ext = ".zip"
		}
		want = append(want, r.name(tg.goos, tg.goarch)+ext)
		if tg.goos == "linux" {
			for _, p := range []string{".deb", ".rpm", ".apk"} {
				want = append(want, r.name(tg.goos, tg.goarch)+p)
			}
		}
	}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(r.files)); !slices.Equal(got, want) {
		t.Fatalf("dist holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (r *release) name(goos, goarch string) string {
	return "goinfra_" + r.version + "_" + goos + "_" + goarch
}

// checkSums verifies SHA256SUMS: one line per other file, each right.
func (r *release) checkSums(t *testing.T) {
	f, err := os.Open(filepath.Join(r.dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		listed[name] = true
		b, err := os.ReadFile(filepath.Join(r.dist, name))
		if err != nil {
			t.Errorf("SHA256SUMS lists %s: %v", name, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, SHA256SUMS says %s", name, got, sum)
		}
	}
	for name := range r.files {
		if name != "SHA256SUMS" && !listed[name] {
			t.Errorf("SHA256SUMS does not list %s", name)
		}
	}
}

// checkArchives opens every archive, checks its binary for its target and
// returns `goinfra version` of the binary for this machine.
func (r *release) checkArchives(t *testing.T) string {
	dir := t.TempDir()
	var line string
	for _, tg := range targets {
		name := r.name(tg.goos, tg.goarch)
		exe := "goinfra"
		if tg.goos == "windows" {
			exe = "goinfra.exe"
		}
		files, err := unpack(filepath.Join(r.dist, name), tg.goos == "windows")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := files[name+"/README.md"]; !ok {
			t.Errorf("%s: no README.md", name)
		}
		checkShareFiles(t, name, files, tg.goos != "windows")
		b, ok := files[name+"/"+exe]
		if !ok {
			t.Errorf("%s: no %s (has %v)", name, exe, slices.Sorted(maps.Keys(files)))
			continue
		}
		bin := filepath.Join(dir, name+"-"+exe)
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		checkBinary(t, bin, tg.goos, tg.goarch)
		if tg.goos == "linux" || tg.goos == "freebsd" {
			if f, err := elf.Open(bin); err == nil {
				if !isStripped(f) {
					t.Errorf("%s: not stripped", name)
				}
				f.Close()
			}
		}
		if tg.goos != runtime.GOOS || tg.goarch != runtime.GOARCH {
			continue
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", name, err)
		}
		line = string(out)
		m := versionLine.FindStringSubmatch(line)
		if m == nil || m[1] != r.version || m[2] != headCommit(r.root) || m[4] != runtime.GOOS+"/"+runtime.GOARCH {
			t.Errorf("%s version: %q, want version %s and commit %s", name, line, r.version, headCommit(r.root))
		}
	}
	return line
}

// checkShareFiles checks an archive's completion scripts and (withMan)
// its gzipped man pages: goinfra(1) and a page per verb.
func checkShareFiles(t *testing.T, name string, files map[string][]byte, withMan bool) {
	t.Helper()
	scripts := map[string]string{
		"goinfra.bash": "complete -o default -F __start_goinfra goinfra",
		"_goinfra":     "#compdef goinfra",
		"goinfra.fish": "complete -c goinfra",
		"goinfra.ps1":  "Register-ArgumentCompleter",
	}
	for file, marker := range scripts {
		if b := files[name+"/completions/"+file]; !bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s: completions/%s is not a completion script (%d bytes)", name, file, len(b))
		}
	}
	pages := 0
	for path := range files {
		if strings.HasPrefix(path, name+"/man/") {
			pages++
		}
	}
	if !withMan {
		if pages > 0 {
			t.Errorf("%s: %d man pages in a Windows archive", name, pages)
		}
		return
	}
	for _, page := range []string{"goinfra", "goinfra-exec", "goinfra-fact", "goinfra-deploy", "goinfra-operations", "goinfra-debug-inventory", "goinfra-connectors", "goinfra-completion"} {
		gz, err := gzip.NewReader(bytes.NewReader(files[name+"/man/man1/"+page+".1.gz"]))
		if err != nil {
			t.Errorf("%s: man/man1/%s.1.gz: %v", name, page, err)
			continue
		}
		b, err := io.ReadAll(gz)
		if err != nil || !bytes.Contains(b, []byte(".TH \"")) {
			t.Errorf("%s: man/man1/%s.1.gz is no man page: %v\n%.200s", name, page, err, b)
		}
	}
}

// unpack returns the regular files of a .tar.gz (or .zip) archive.
func unpack(base string, isZip bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	if isZip {
		z, err := zip.OpenReader(base + ".zip")
		if err != nil {
			return nil, err
		}
		defer z.Close()
		for _, f := range z.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			files[f.Name] = b
		}
		return files, nil
	}
	f, err := os.Open(base + ".tar.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Uid != 0 || h.Gid != 0 {
			return nil, fmt.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
}

// checkPackages checks each package's format by its magic number and that
// it is large enough to hold the binary (compressed).
func (r *release) checkPackages(t *testing.T) {
	magic := map[string][]byte{
		".deb": []byte("!<arch>\ndebian-binary"),
		".rpm": {0xed, 0xab, 0xee, 0xdb},
		".apk": {0x1f, 0x8b}, // concatenated gzip streams
	}
	for _, arch := range []string{"amd64", "arm64"} {
		for ext, m := range magic {
			name := r.name("linux", arch) + ext
			b, err := os.ReadFile(filepath.Join(r.dist, name))
			if err != nil {
				t.Error(err)
				continue
			}
			if !bytes.HasPrefix(b, m) || len(b) < 1<<20 {
				t.Errorf("%s: %d bytes starting %q, not a %s package", name, len(b), b[:min(len(b), 24)], ext)
			}
		}
	}
}

// checkReproducible builds this machine's archive again: it must be the
// same bytes.
func (r *release) checkReproducible(t *testing.T) {
	again := filepath.Join(t.TempDir(), "again")
	r.run(t, "--dist", again, "--targets", runtime.GOOS+"/"+runtime.GOARCH, "--no-packages", "--no-image")
	name := r.name(runtime.GOOS, runtime.GOARCH) + ".tar.gz"
	first, err := os.ReadFile(filepath.Join(r.dist, name))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(again, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("%s differs between two builds of the same commit (%d and %d bytes)", name, len(first), len(second))
	}
}

// checkDeb installs the engine's architecture's .deb with dpkg in a
// container of the Debian test image (built from Debian packages by
// debootstrap, no registry) and runs goinfra version there.
func (r *release) checkDeb(t *testing.T, platform, line string) {
	goos, arch, _ := strings.Cut(platform, "/")
	if goos != "linux" || (arch != "amd64" && arch != "arm64") {
		testenv.Skip(t, "the docker engine is %s: no package for it", platform)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := sshfleet.EnsureImage(ctx); err != nil {
		if errors.Is(err, sshfleet.ErrUnavailable) {
			testenv.Skip(t, "Debian test image: %v", err)
		}
		t.Fatalf("Debian test image: %v", err)
	}
	deb := r.name("linux", arch) + ".deb"
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none",
		"-v", r.dist+":/dist:ro", sshfleet.ImageTag,
		"sh", "-c", "dpkg -i /dist/"+deb+" >/dev/null && dpkg-query -W -f '${Status}\\n' goinfra && command -v goinfra && goinfra version && "+
			// The man pages and completion scripts, where man and the shells look.
			"ls /usr/share/man/man1/goinfra.1.gz /usr/share/man/man1/goinfra-exec.1.gz /usr/share/bash-completion/completions/goinfra "+
			"/usr/share/zsh/vendor-completions/_goinfra /usr/share/fish/vendor_completions.d/goinfra.fish && "+
			"zcat /usr/share/man/man1/goinfra-exec.1.gz | grep -c 'INVENTORY exec'").CombinedOutput()
	want := "install ok installed\n/usr/bin/goinfra\n" + line +
		"/usr/share/bash-completion/completions/goinfra\n/usr/share/fish/vendor_completions.d/goinfra.fish\n" +
		"/usr/share/man/man1/goinfra-exec.1.gz\n/usr/share/man/man1/goinfra.1.gz\n/usr/share/zsh/vendor-completions/_goinfra\n1\n"
	if err != nil || string(out) != want {
		t.Errorf("dpkg -i %s; goinfra version: %v\n%s\nwant\n%s", deb, err, out, want)
	}
}
