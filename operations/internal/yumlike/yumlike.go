// Package yumlike builds the operations dnf and yum share, with pyinfra's
// names, arguments and defaults: TOOL.packages, TOOL.repo, TOOL.key,
// TOOL.rpm and TOOL.update, where TOOL is the command (dnf or yum). They
// read the rpm facts; repo and rpm plan files.file and files.download
// (by name, from the operations registry) for removing a repository file
// and for URL sources.
package yumlike

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
	"github.com/goinfra-dev/goinfra/operations/internal/packaging"
	"github.com/goinfra-dev/goinfra/operations/rpm"
)

// RepoDir is where TOOL.repo writes NAME.repo (dnf reads it too).
const RepoDir = "/etc/yum.repos.d"

// Ops are the operations of tool (dnf or yum).
func Ops(tool string) []operations.Op {
	return []operations.Op{
		{
			Name:        tool + ".key",
			Description: "import a GPG key file or URL into rpm (rpm --import, every time)",
			Args:        []operations.Arg{{Name: "src", Type: connector.String, Required: true, Description: "a key file on the host, or a URL"}},
			Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
				src := args.String("src")
				if src == "" || strings.HasPrefix(src, "-") {
					return nil, fmt.Errorf("src: %q is not a file or URL", src)
				}
				return plan(&operations.Command{Cmd: command.Args("rpm", "--import", src)}), nil
			},
		},
		{
			Name:        tool + ".update",
			Description: "upgrade every package (" + tool + " update -y, every time)",
			Plan: func(context.Context, operations.Host, connector.Data) (*operations.Plan, error) {
				return plan(&operations.Command{Cmd: command.Args(tool, "update", "-y")}), nil
			},
		},
		{
			Name:        tool + ".repo",
			Description: "add, remove or update a " + RepoDir + "/NAME.repo file, written from its settings or downloaded from a URL",
			Args: []operations.Arg{
				{Name: "src", Type: connector.String, Required: true, Description: "the repository's name (NAME.repo is written), or the URL of a .repo file to download"},
				{Name: "present", Type: connector.Bool, Default: true, Description: "whether the .repo file should exist"},
				{Name: "baseurl", Type: connector.Any, Description: "the repository's baseurl (src a name)"},
				{Name: "description", Type: connector.Any, Description: "the repository's name= (default: src)"},
				{Name: "enabled", Type: connector.Bool, Default: true, Description: "enabled=1"},
				{Name: "gpgcheck", Type: connector.Bool, Default: true, Description: "gpgcheck=1"},
				{Name: "gpgkey", Type: connector.Any, Description: "the URL of the repository's GPG key"},
			},
			Plan: planRepo,
		},
		{
			Name:        tool + ".rpm",
			Description: "install or remove the package of a .rpm file (a path on the host, or a URL)",
			Args: []operations.Arg{
				{Name: "src", Type: connector.String, Required: true, Description: "the .rpm file on the host, or its URL (downloaded to a temporary file)"},
				{Name: "present", Type: connector.Bool, Default: true, Description: "whether the package should be installed"},
			},
			Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
				return planRPM(ctx, h, args, tool)
			},
		},
		{
			Name:        tool + ".packages",
			Description: "install, remove or upgrade " + tool + " packages",
			Args: []operations.Arg{
				{Name: "packages", Type: connector.Any, Description: "a package or a list of them; NAME=VERSION pins a version (VERSION-RELEASE, as rpm reports it; given to " + tool + " as NAME-VERSION)"},
				{Name: "present", Type: connector.Bool, Default: true, Description: "whether the packages should be installed"},
				{Name: "latest", Type: connector.Bool, Default: false, Description: "upgrade installed packages without a pinned version (every time)"},
				{Name: "update", Type: connector.Bool, Default: false, Description: tool + " update -y first (every time)"},
				{Name: "clean", Type: connector.Bool, Default: false, Description: tool + " clean all first (every time)"},
				{Name: "nobest", Type: connector.Any, Default: false, Description: "install with --nobest (any true value)"},
				{Name: "extra_install_args", Type: connector.Any, Description: "further " + tool + " install arguments (a string is split at spaces)"},
				{Name: "extra_uninstall_args", Type: connector.Any, Description: "further " + tool + " remove arguments (a string is split at spaces)"},
			},
			Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
				return planPackages(ctx, h, args, tool)
			},
		},
	}
}

func plan(steps ...operations.Step) *operations.Plan { return &operations.Plan{Steps: steps} }

func planPackages(ctx context.Context, h operations.Host, args connector.Data, tool string) (*operations.Plan, error) {
	specs, err := packaging.Specs(args["packages"], "=")
	if err != nil {
		return nil, err
	}
	extraInstall, err := packaging.Words(args, "extra_install_args")
	if err != nil {
		return nil, err
	}
	extraRemove, err := packaging.Words(args, "extra_uninstall_args")
	if err != nil {
		return nil, err
	}
	p := &operations.Plan{}
	if args.Bool("clean") {
		p.Steps = append(p.Steps, &operations.Command{Cmd: command.Args(tool, "clean", "all")})
	}
	if args.Bool("update") {
		p.Steps = append(p.Steps, &operations.Command{Cmd: command.Args(tool, "update", "-y")})
	}
	if len(specs) == 0 {
		return p, nil
	}
	installed, err := rpm.RpmPackages.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	install := []string{tool, "install", "-y"}
	if packaging.Truthy(args["nobest"]) {
		install = append(install, "--nobest")
	}
	steps, err := packaging.Ensure{
		Installed: installed,
		Present:   args.Bool("present"),
		Latest:    args.Bool("latest"),
		Install:   command.Args(append(install, extraInstall...)...),
		Uninstall: command.Args(append([]string{tool, "remove", "-y"}, extraRemove...)...),
		Upgrade:   command.Args(tool, "update", "-y"),
		// dnf and yum take NAME-VERSION: pyinfra's NAME=VERSION is "No
		// match for argument" to them.
		Sep: "-",
		Provides: func(name string) ([]packaging.Provider, error) {
			pairs, err := rpm.RpmPackageProvides.Get(ctx, h, name)
			if err != nil {
				return nil, err
			}
			out := make([]packaging.Provider, 0, len(pairs))
			for _, p := range pairs {
				if len(p) == 2 {
					out = append(out, packaging.Provider{Name: p[0], Version: p[1]})
				}
			}
			return out, nil
		},
	}.Steps(specs)
	if err != nil {
		return nil, err
	}
	p.Steps = append(p.Steps, steps...)
	return p, nil
}

// isURL: src has a scheme (https://, ftp://, file://), as pyinfra tells a
// URL from a name or a path.
func isURL(src string) (*url.URL, bool) {
	u, err := url.Parse(src)
	return u, err == nil && u.Scheme != ""
}

// download plans files.download of src to dest: a missing module is an
// error naming it.
func download(ctx context.Context, h operations.Host, src, dest string) ([]operations.Step, error) {
	return operations.InnerSteps(ctx, h, "files.download", map[string]any{"src": src, "dest": dest})
}

func planRPM(ctx context.Context, h operations.Host, args connector.Data, tool string) (*operations.Plan, error) {
	src := args.String("src")
	if src == "" || strings.HasPrefix(src, "-") {
		return nil, fmt.Errorf("src: %q is not a file or URL", src)
	}
	p := &operations.Plan{}
	present := args.Bool("present")
	if _, ok := isURL(src); ok {
		// A name of its own per URL, so a second run finds the file
		// downloaded and the package it holds.
		sum := sha1.Sum([]byte(src))
		dest := "/tmp/goinfra-" + hex.EncodeToString(sum[:8]) + ".rpm"
		steps, err := download(ctx, h, src, dest)
		if err != nil {
			return nil, err
		}
		p.Steps, src = steps, dest
	}
	info, err := rpm.RpmPackage.Get(ctx, h, src)
	if err != nil {
		return nil, err
	}
	exists := false
	if info != nil {
		cur, err := rpm.RpmPackage.Get(ctx, h, info.Name)
		if err != nil {
			return nil, err
		}
		exists = cur != nil && cur.Version == info.Version
	}
	switch {
	case present && !exists && info != nil:
		p.Steps = append(p.Steps, &operations.Command{Cmd: command.Args("rpm", "-i", src)})
	case present && !exists:
		// The file is not there yet (downloaded by this plan): whether
		// its package is installed is asked when the step runs.
		q := command.Quote(src)
		p.Steps = append(p.Steps, &operations.Command{Cmd: command.New(
			"rpm", "-q", command.Plain("`rpm -qp "+q+"`"), "2>", "/dev/null", "||", "rpm", "-i", q)})
	case !present && exists:
		p.Steps = append(p.Steps, &operations.Command{Cmd: command.Args(tool, "remove", "-y", info.Name)})
	}
	return p, nil
}

// RepoFile is the .repo file TOOL.repo writes for a repository given by
// name.
func RepoFile(name, description, baseurl, gpgkey string, enabled, gpgcheck bool) string {
	if description == "" {
		description = name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]\nname=%s\nbaseurl=%s\nenabled=%d\ngpgcheck=%d\n", name, description, baseurl, b2i(enabled), b2i(gpgcheck))
	if gpgkey != "" {
		fmt.Fprintf(&b, "gpgkey=%s\n", gpgkey)
	}
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func planRepo(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src := args.String("src")
	name, u := src, ""
	if pu, ok := isURL(src); ok {
		u = src
		name = strings.TrimSuffix(path.Base(pu.Path), ".repo")
	}
	if name == "" || name == "." || name == "/" || strings.ContainsAny(name, "/\n[]") {
		return nil, fmt.Errorf("src: %q gives no repository name", src)
	}
	var texts [3]string
	for i, k := range []string{"baseurl", "description", "gpgkey"} {
		s, err := opargs.String(args, k)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(s, "\n") {
			return nil, fmt.Errorf("%s: a line break would end the setting", k)
		}
		texts[i] = s
	}
	file := RepoDir + "/" + name + ".repo"
	p := &operations.Plan{}
	var err error
	switch {
	case !args.Bool("present"):
		p.Steps, err = operations.InnerSteps(ctx, h, "files.file", map[string]any{"path": file, "present": false})
	case u != "":
		// A downloaded .repo file is left as it is once there.
		var reg *files.RegularInfo
		if reg, err = files.File.Get(ctx, h, file); err == nil && reg == nil {
			p.Steps, err = download(ctx, h, u, file)
		}
	default:
		content := RepoFile(name, texts[1], texts[0], texts[2], args.Bool("enabled"), args.Bool("gpgcheck"))
		p.Steps, err = uploadSteps(ctx, h, file, content)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// uploadSteps write content to file unless it holds it already, making
// its directory first when there is none.
func uploadSteps(ctx context.Context, h operations.Host, file, content string) ([]operations.Step, error) {
	sum, err := files.Sha256File.Get(ctx, h, file)
	if err != nil {
		return nil, err
	}
	want := sha256Hex(content)
	if strings.EqualFold(sum, want) {
		return nil, nil
	}
	var steps []operations.Step
	dir := path.Dir(file)
	d, err := files.Directory.Get(ctx, h, dir)
	if err != nil {
		return nil, err
	}
	if d == nil {
		steps = append(steps, &operations.Command{Cmd: command.Args("mkdir", "-p", dir)})
	} else if d.NotDir {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	steps = append(steps, &operations.Upload{
		Src:  path.Base(file) + " (generated)",
		Dest: file,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(content))), nil },
	})
	return steps, nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// RepositoriesCommand prints conf (when it exists) and every .repo file of
// dirs, without failing on a directory that has none.
func RepositoriesCommand(tool, conf string, dirs ...string) command.Command {
	q := command.Quote(conf)
	c := command.New(command.Plain("(! test -f " + q + " || cat " + q + ")"))
	for _, d := range dirs {
		c = command.New(c, "&&", command.Plain("(cat "+command.Quote(d)+"/*.repo || true)"))
	}
	return operations.RequiresCommand(tool, c)
}

// ParseRepositories reads .repo files (INI): one map per [section], its
// name under "name" until a name= setting of the section replaces it, as
// pyinfra's facts give them. Comments and blank lines are left out.
func ParseRepositories(lines []string) []map[string]string {
	repos := []map[string]string{}
	var cur map[string]string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "[") {
			if cur != nil {
				repos = append(repos, cur)
			}
			cur = map[string]string{"name": strings.TrimSuffix(l[1:], "]")}
		}
		if cur != nil {
			if k, v, ok := strings.Cut(l, "="); ok {
				cur[k] = v
			}
		}
	}
	if cur != nil {
		repos = append(repos, cur)
	}
	return repos
}
