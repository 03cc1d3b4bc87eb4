#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those missing. It is
# the single place the test run installs packages from: the list is at the
# end of this file, one package per line with a comment saying which tests
# need it. Append your lines; do not rewrite others'.
set -euo pipefail

mapfile -t wanted < <(sed -n '/^# --- packages ---$/,$p' "$0" | sed '1d; s/#.*//; s/[[:space:]]//g; /^$/d')

missing=()
for p in "${wanted[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "test-deps: all ${#wanted[@]} packages present"
	exit 0
fi

echo "test-deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
	as_root=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
exit 0

# --- packages ---
sudo             # command, local, engine, facts: real sudo round trips
python3          # command: shlex.quote parity is checked against Python itself
openssh-server   # ssh connector: a real sshd started by the tests
openssh-client   # ssh connector: ssh-keygen, known_hosts handling
busybox-static   # container and chroot root filesystems built by the tests
debootstrap      # chroot/docker tests that need a Debian root filesystem
rsync            # rsync support
podman           # podman connector
uidmap           # podman connector (rootless user namespaces)
passwd           # local: useradd, userdel, chpasswd for the escalation and sudo password tests
util-linux       # local: setsid (a process escaping the group)
binutils         # docker: the keep-alive program is rebuilt from its assembly source and compared
doas             # local: doas with a password typed at its prompt (su/doas password tests)
git              # operations/git: git.repo and git.config end to end on @local
python3-venv     # operations/pip: pip.venv and pip.packages end to end on @local (python3 -m venv with ensurepip)
zip              # release: scripts/release.sh zips the Windows archives (cmd/goinfra TestRelease)
jq               # docs/sharding.md: the jq equivalent of goinfra merge (cli TestDocs)
bash-completion  # cli: TestCompletionScripts completes words through the bash script as bash does
zsh              # cli: TestCompletionScripts checks the zsh script's syntax (zsh -n)
fish             # cli: TestCompletionScripts checks the fish script's syntax (fish --no-execute)
groff-base       # cli: TestManPages renders every man page with groff and wants no warnings
gcc              # internal/bsdstat: NetBSD's stat built for the BSD/macOS file-fact and install-script tests
pkg-config       # internal/bsdstat: libbsd's compiler flags
libbsd-dev       # internal/bsdstat: the BSD functions NetBSD's stat needs on Linux
tini             # internal/sshfleet: Options.Measure runs sshd under a subreaper (TestUsageOrphans, bench cost figures)
nftables            # sshfleet Server.SetDropped: packets dropped in the kernel (dead-network tests)
