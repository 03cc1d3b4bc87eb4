package sshfleet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/internal/filelock"
)

// ImageTag is the Docker image every container of every fleet runs. It is
// built once per Docker engine and reused; bump the version when the build
// changes.
const ImageTag = "goinfra-test/debian-sshd:3"

// imagePackages are installed on top of debootstrap's minbase: what later
// integration tests need on a Debian target, and no more.
var imagePackages = []string{
	"openssh-server", "openssh-sftp-server", "openssh-client", // sshd, sftp, ssh-keyscan/ssh-add for hops and agent tests
	"sudo", "procps", "rsync", "apt-utils", // apt-utils: apt-ftparchive for the offline repository
	"cron", "locales", "net-tools", // crontab, locale-gen and netstat for the server.crontab, server.locale and server.wait tests
}

// offlinePackages are downloaded, not installed, into a local repository in
// the image (/var/local/debs), so apt-get install/remove work without a
// network.
var offlinePackages = []string{"hello", "tree"}

// EnsureImage builds ImageTag unless the engine already has it, and returns
// the time spent building (0 when it existed). Concurrent callers (test
// binaries of several packages run at once) serialize on a lock file in
// os.TempDir(), so the image is built once.
func EnsureImage(ctx context.Context) (time.Duration, error) {
	if imageExists(ctx) {
		return 0, nil
	}
	lockPath := filepath.Join(os.TempDir(), "goinfra-sshfleet-image.lock")
	lf, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	unlock, err := filelock.Lock(lf)
	if err != nil {
		return 0, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer unlock()
	if imageExists(ctx) {
		return 0, nil
	}
	// Holding the lock, any earlier build directory is one whose builder
	// died: remove it (it holds a whole root filesystem).
	if stale, _ := filepath.Glob(filepath.Join(os.TempDir(), "sshfleet-image-*")); len(stale) > 0 {
		for _, d := range stale {
			removeTree(d)
		}
	}
	start := time.Now()
	if err := buildImage(ctx); err != nil {
		return 0, fmt.Errorf("build image %s: %w", ImageTag, err)
	}
	return time.Since(start), nil
}

func imageExists(ctx context.Context) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ImageTag).Run() == nil
}

// aptSource is the host's Debian mirror, read at run time so no hostname is
// written into the repository.
type aptSource struct {
	uri, suite, keyring string
}

func hostAptSource() (aptSource, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		if src, ok := parseDeb822(f); ok {
			return src, nil
		}
	}
	files, _ = filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		if src, ok := parseOneLine(f); ok {
			return src, nil
		}
	}
	return aptSource{}, fmt.Errorf("%w: no Debian mirror found in /etc/apt/sources.list(.d) for debootstrap", errUnavailable)
}

// isBaseSuite skips -updates, -security and -backports suites: debootstrap
// needs the release itself.
func isBaseSuite(s string) bool {
	return s != "" && !strings.Contains(s, "-") && !strings.Contains(s, "/")
}

func parseDeb822(path string) (aptSource, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return aptSource{}, false
	}
	for _, stanza := range strings.Split(string(b), "\n\n") {
		fields := map[string]string{}
		for _, l := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(l, "#") || !strings.Contains(l, ":") {
				continue
			}
			k, v, _ := strings.Cut(l, ":")
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		uris := strings.Fields(fields["uris"])
		if len(uris) == 0 || !strings.Contains(" "+fields["components"]+" ", " main ") {
			continue
		}
		for _, suite := range strings.Fields(fields["suites"]) {
			if isBaseSuite(suite) {
				return aptSource{uri: uris[0], suite: suite, keyring: fields["signed-by"]}, true
			}
		}
	}
	return aptSource{}, false
}

func parseOneLine(path string) (aptSource, bool) {
	f, err := os.Open(path)
	if err != nil {
		return aptSource{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		keyring := ""
		if strings.HasPrefix(fields[0], "[") {
			for len(fields) > 0 {
				opt := strings.Trim(fields[0], "[]")
				if k, v, ok := strings.Cut(opt, "="); ok && k == "signed-by" {
					keyring = v
				}
				end := strings.HasSuffix(fields[0], "]")
				fields = fields[1:]
				if end {
					break
				}
			}
		}
		if len(fields) >= 3 && isBaseSuite(fields[1]) && contains(fields[2:], "main") {
			return aptSource{uri: fields[0], suite: fields[1], keyring: keyring}, true
		}
	}
	return aptSource{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// initScript is PID 1 of every container. It stays alive whatever else is
// killed (Server.Stop kills every other process) and, being PID 1, reaps
// orphans so "no process left" checks never see zombies.
const initScript = `#!/bin/bash
# PID 1 of an sshfleet container.
mkdir -p /run/sshd
printf '%s\n' "$SSHFLEET_AUTHORIZED_KEY" >/etc/ssh/sshfleet_authorized_keys
chmod 644 /etc/ssh/sshfleet_authorized_keys
unset SSHFLEET_AUTHORIZED_KEY
# Host keys are made per container, never baked into the image. RSA at
# 2048 bits: 3072 costs seconds of CPU when 20 containers start at once.
ssh-keygen -q -t rsa -b 2048 -N '' -C "$HOSTNAME" -f /etc/ssh/ssh_host_rsa_key
ssh-keygen -A >/dev/null
/usr/sbin/sshd -E /var/log/sshd.log
trap 'exit 0' TERM INT
# wait returns when a child exits; bash reaps every child, adopted or not.
while :; do sleep 3600 & wait; done
`

// configureScript runs inside the debootstrapped tree (chroot).
func configureScript() string {
	return `set -eu
export DEBIAN_FRONTEND=noninteractive
useradd --create-home --shell /bin/bash ` + DeployUser + `
useradd --create-home --shell /bin/bash ` + SecureUser + `
# Containers have no audit capability: pam_loginuid would refuse logins.
sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
rm -f /etc/ssh/ssh_host_*
# An offline apt repository: a few packages available but not installed.
mkdir -p /var/local/debs
cd /var/local/debs
apt-get download ` + strings.Join(offlinePackages, " ") + `
apt-ftparchive packages . >Packages
cd /
echo 'deb [trusted=yes] file:/var/local/debs ./' >/etc/apt/sources.list
rm -rf /var/lib/apt/lists/*
apt-get update
apt-get clean
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/debconf/*-old /var/log/*.log
`
}

func buildImage(ctx context.Context) error {
	for _, bin := range []string{"debootstrap", "chroot", "tar"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not found (apt-get install debootstrap)", errUnavailable, bin)
		}
	}
	src, err := hostAptSource()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sshfleet-image-")
	if err != nil {
		return err
	}
	root := filepath.Join(work, "root")
	defer removeTree(work)

	args := []string{"--variant=minbase", "--include=" + strings.Join(imagePackages, ",")}
	if src.keyring != "" && !strings.Contains(src.keyring, "BEGIN PGP") {
		args = append(args, "--keyring="+src.keyring)
	}
	args = append(args, src.suite, root, src.uri)
	if out, err := exec.CommandContext(ctx, "debootstrap", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	if err := os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), []byte(sshdConfig(
		"# sshfleet: the fleet key for every user, besides the usual file.\nAuthorizedKeysFile .ssh/authorized_keys /etc/ssh/sshfleet_authorized_keys\n")), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/sudoers.d/goinfra-sshfleet"), []byte(sudoersLines), 0o440); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "usr/local/sbin/sshfleet-init"), []byte(initScript), 0o755); err != nil {
		return err
	}
	// resolv.conf is needed for apt-get download from the mirror.
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		_ = os.WriteFile(filepath.Join(root, "etc/resolv.conf"), b, 0o644)
	}
	cmd := exec.CommandContext(ctx, "chroot", root, "/bin/sh", "-c", configureScript())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("configure image: %w: %s", err, lastLines(string(out), 20))
	}
	// The password goes through stdin, never a command line.
	cmd = exec.CommandContext(ctx, "chroot", root, "chpasswd")
	cmd.Stdin = strings.NewReader(SecureUser + ":" + SecurePassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd in image: %w: %s", err, out)
	}
	_ = os.Remove(filepath.Join(root, "etc/resolv.conf")) // docker provides its own
	if err := checkNoMounts(root); err != nil {
		return err
	}
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", "-", ".")
	imp := exec.CommandContext(ctx, "docker", "import",
		"--change", `CMD ["/usr/local/sbin/sshfleet-init"]`,
		"--change", "ENV LANG=C.UTF-8",
		"--message", "sshfleet: Debian openssh-server test target", "-", ImageTag)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var tarErr strings.Builder
	tar.Stderr = &tarErr
	if err := tar.Start(); err != nil {
		return err
	}
	out, impErr := imp.CombinedOutput()
	tarWait := tar.Wait()
	if tarWait != nil {
		return fmt.Errorf("tar of image root: %w: %s", tarWait, tarErr.String())
	}
	if impErr != nil {
		return fmt.Errorf("docker import: %w: %s", impErr, out)
	}
	return nil
}

// checkNoMounts refuses to go on while anything is mounted below root
// (debootstrap mounts /proc and /sys while it works): removing the tree
// would otherwise reach into the host.
func checkNoMounts(root string) error {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && strings.HasPrefix(f[1], root+"/") {
			if out, err := exec.Command("umount", "-l", f[1]).CombinedOutput(); err != nil {
				return fmt.Errorf("%s still mounted: %v: %s", f[1], err, out)
			}
		}
	}
	return nil
}

func removeTree(dir string) {
	if checkNoMounts(dir) == nil {
		_ = os.RemoveAll(dir)
	}
}
