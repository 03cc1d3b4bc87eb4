package sshfleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/internal/filelock"
)

// packagesScript installs Debian packages ($@) into a container of
// ImageTag from the mirror this machine's apt uses (its configuration is
// mounted at /host-apt, so no mirror is named here), then puts the image's
// offline repository back as its only source.
const packagesScript = `set -eu
export DEBIAN_FRONTEND=noninteractive
cp /host-apt/sources.list.d/*.sources /host-apt/sources.list.d/*.list /etc/apt/sources.list.d/ 2>/dev/null || true
if [ -s /host-apt/sources.list ]; then cp /host-apt/sources.list /etc/apt/sources.list.d/host-mirror.list; fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/tmp/apt.log 2>&1 || { tail -n 30 /tmp/apt.log; exit 1; }
rm -f /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/host-mirror.list /tmp/apt.log
rm -rf /var/lib/apt/lists/*
apt-get update -qq
apt-get clean
`

// packagesTag names the image of ImageTag plus packages: the same list
// (in any order) on the same base gives the same tag, so it is built once
// per engine.
func packagesTag(packages []string) string {
	ps := slices.Clone(packages)
	slices.Sort(ps)
	sum := sha256.Sum256([]byte(ImageTag + "\n" + strings.Join(ps, "\n")))
	return "goinfra-test/debian-sshd-plus:" + hex.EncodeToString(sum[:6])
}

// EnsurePackagesImage builds (unless the engine has it) an image of
// ImageTag with the Debian packages installed, and returns its tag.
// Concurrent callers serialize on a lock file, as EnsureImage's do.
func EnsurePackagesImage(ctx context.Context, packages []string) (string, error) {
	if _, err := EnsureImage(ctx); err != nil {
		return "", err
	}
	tag := packagesTag(packages)
	exists := func() bool {
		return exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", tag).Run() == nil
	}
	if exists() {
		return tag, nil
	}
	lockPath := filepath.Join(os.TempDir(), "goinfra-sshfleet-packages.lock")
	lf, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lf.Close()
	unlock, err := filelock.Lock(lf)
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer unlock()
	if exists() {
		return tag, nil
	}
	name := "sshfleet-packages-" + randomID()
	defer func() { _, _ = docker(context.Background(), "rm", "--force", name) }()
	args := append([]string{"run", "--name", name, "-v", "/etc/apt:/host-apt:ro", ImageTag, "sh", "-c", packagesScript, "sh"}, packages...)
	if out, err := docker(ctx, args...); err != nil {
		return "", fmt.Errorf("installing %s into %s: %w\n%s", strings.Join(packages, " "), ImageTag, err, out)
	}
	// commit would keep the install script as the command: restore the
	// base image's (the container init).
	if _, err := docker(ctx, "commit", "--change", `CMD ["/usr/local/sbin/sshfleet-init"]`, name, tag); err != nil {
		return "", err
	}
	return tag, nil
}

// image is the image the fleet's containers run: ImageTag, or ImageTag
// plus opts.Packages.
func (opts Options) image(ctx context.Context) (string, error) {
	if len(opts.Packages) == 0 {
		return ImageTag, nil
	}
	start := time.Now()
	tag, err := EnsurePackagesImage(ctx, opts.Packages)
	if err == nil && time.Since(start) > 10*time.Second {
		opts.Log("sshfleet: image %s (%s) ready in %v", tag, strings.Join(opts.Packages, " "), time.Since(start).Round(time.Second))
	}
	return tag, err
}
