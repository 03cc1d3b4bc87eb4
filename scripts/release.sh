#!/usr/bin/env bash
# Builds a goinfra release from the checked-out commit into dist/:
#
#   goinfra_VERSION_OS_ARCH.tar.gz   (zip for windows) one per target: the
#                                    binary, README.md, completions/ (bash,
#                                    zsh, fish, PowerShell) and, but for
#                                    windows, man/man1/*.1.gz
#   goinfra_VERSION_linux_ARCH.deb   .rpm and .apk too, for amd64 and arm64,
#                                    with the man pages and completions
#   SHA256SUMS                       of all of the above
#   the container image goinfra:VERSION (FROM scratch) in the local engine
#
# Binaries are static (CGO_ENABLED=0), stripped and reproducible: -trimpath,
# the version, commit and commit date stamped with -ldflags, and every
# timestamp in archives and packages set to the commit's time
# (SOURCE_DATE_EPOCH), so the same commit and Go toolchain give the same
# bytes. nfpm (the packager) runs from the Go module proxy at a pinned
# version; the image is built FROM scratch, so nothing is pulled.
#
# Usage: scripts/release.sh [--dist DIR] [--targets "linux/amd64 …"]
#                           [--image NAME:TAG] [--no-packages] [--no-image]
# VERSION overrides the version (default: the nearest v* tag as git
# describe gives it, else a Go pseudo-version v0.0.0-DATE-COMMIT; +dirty
# when the work tree has changes). SOURCE_DATE_EPOCH overrides the time.
set -euo pipefail

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
ALL_TARGETS="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 freebsd/arm64 windows/amd64 windows/arm64"
PKG=github.com/goinfra-dev/goinfra

cd "$(dirname "$0")/.."
root=$(pwd)
dist=dist
targets=$ALL_TARGETS
image=""
packages=1
build_image=1
while [ $# -gt 0 ]; do
	case "$1" in
	--dist) dist=$2; shift 2 ;;
	--targets) targets=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--no-packages) packages=0; shift ;;
	--no-image) build_image=0; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case "$dist" in /*) ;; *) dist=$root/$dist ;; esac

commit=$(git rev-parse HEAD)
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	dirty="+dirty"
fi
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct HEAD)}"
export SOURCE_DATE_EPOCH
date=$(TZ=UTC date -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if [ -z "${VERSION:-}" ]; then
	if VERSION=$(git describe --tags --match 'v[0-9]*' HEAD 2>/dev/null); then
		VERSION=$VERSION$dirty
	else
		# No release tag yet: the pseudo-version go itself would stamp.
		VERSION=v0.0.0-$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd HEAD)-${commit:0:12}$dirty
	fi
fi
case "$VERSION" in
v[0-9]*) ;;
*) echo "release.sh: VERSION must look like v1.2.3, not $VERSION" >&2; exit 2 ;;
esac

echo "release.sh: goinfra $VERSION (commit $commit, $date) into $dist"
rm -rf "$dist"
mkdir -p "$dist"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ldflags="-s -w -X $PKG/cli.Version=$VERSION -X $PKG/cli.Commit=$commit -X $PKG/cli.Date=$date"
# A stable build ID: the same inputs give the same binary.
ldflags="$ldflags -buildid="

# tarball DIR OUT writes DIR (relative to $work) as a reproducible tar.gz.
tarball() {
	tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$SOURCE_DATE_EPOCH" --mode='a+rX,u+w,go-w' -cf - "$1" | gzip -n -9 >"$2"
}

# zipball DIR OUT writes DIR as a reproducible zip: sorted, no extra
# attributes, every time the commit's.
zipball() {
	find "$work/$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$work" && find "$1" -print | LC_ALL=C sort | TZ=UTC zip -q -X -@ "$2")
}

# Man pages and completion scripts are the same for every target: one
# goinfra for this machine writes them (the man pages dated by
# SOURCE_DATE_EPOCH, gzip -n: reproducible too).
echo "release.sh: man pages and completion scripts"
share=$work/share
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$work/host/goinfra" ./cmd/goinfra
"$work/host/goinfra" gen-docs man "$share/man/man1"
gzip -n -9 "$share/man/man1/"*.1
mkdir -p "$share/completions"
"$work/host/goinfra" completion bash >"$share/completions/goinfra.bash"
"$work/host/goinfra" completion zsh >"$share/completions/_goinfra"
"$work/host/goinfra" completion fish >"$share/completions/goinfra.fish"
"$work/host/goinfra" completion powershell >"$share/completions/goinfra.ps1"
chmod 0644 "$share/man/man1/"* "$share/completions/"*

for t in $targets; do
	os=${t%/*}
	arch=${t#*/}
	name=goinfra_${VERSION}_${os}_${arch}
	exe=goinfra
	[ "$os" = windows ] && exe=goinfra.exe
	mkdir -p "$work/$name"
	echo "release.sh: building $t"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
		-ldflags "$ldflags" -o "$work/$name/$exe" ./cmd/goinfra
	cp README.md "$work/$name/"
	chmod 0755 "$work/$name/$exe"
	chmod 0644 "$work/$name/README.md"
	cp -R "$share/completions" "$work/$name/"
	if [ "$os" != windows ]; then
		mkdir -p "$work/$name/man"
		cp -R "$share/man/man1" "$work/$name/man/"
	fi
	if [ "$os" = windows ]; then
		zipball "$name" "$dist/$name.zip"
	else
		tarball "$name" "$dist/$name.tar.gz"
	fi
done

if [ "$packages" = 1 ]; then
	mtime=$date
	for t in $targets; do
		case "$t" in linux/*) ;; *) continue ;; esac
		arch=${t#*/}
		name=goinfra_${VERSION}_linux_${arch}
		cat >"$work/nfpm-$arch.yaml" <<EOF
name: goinfra
arch: $arch
platform: linux
version: $VERSION
version_schema: semver
section: admin
priority: optional
maintainer: goinfra-dev <https://github.com/goinfra-dev/goinfra>
homepage: https://github.com/goinfra-dev/goinfra
description: |-
  Runs commands, gathers facts and moves files on many hosts at once.
  A Go reimplementation of pyinfra's connectors and command line: SSH,
  Docker, Podman, chroot and local targets, as one static binary.
mtime: $mtime
contents:
  - src: $work/$name/goinfra
    dst: /usr/bin/goinfra
    file_info:
      mode: 0755
  - src: $work/$name/README.md
    dst: /usr/share/doc/goinfra/README.md
    file_info:
      mode: 0644
  - src: $share/man/man1/*.1.gz
    dst: /usr/share/man/man1/
    file_info:
      mode: 0644
  - src: $share/completions/goinfra.bash
    dst: /usr/share/bash-completion/completions/goinfra
    file_info:
      mode: 0644
  - src: $share/completions/goinfra.fish
    dst: /usr/share/fish/vendor_completions.d/goinfra.fish
    file_info:
      mode: 0644
  # Debian's zsh reads vendor-completions; Fedora's and Alpine's site-functions.
  - src: $share/completions/_goinfra
    dst: /usr/share/zsh/vendor-completions/_goinfra
    packager: deb
    file_info:
      mode: 0644
  - src: $share/completions/_goinfra
    dst: /usr/share/zsh/site-functions/_goinfra
    packager: rpm
    file_info:
      mode: 0644
  - src: $share/completions/_goinfra
    dst: /usr/share/zsh/site-functions/_goinfra
    packager: apk
    file_info:
      mode: 0644
EOF
		for p in deb rpm apk; do
			echo "release.sh: packaging $name.$p"
			go run "$NFPM" package --config "$work/nfpm-$arch.yaml" --packager "$p" \
				--target "$dist/$name.$p" >/dev/null
		done
	done
fi

(cd "$dist" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort |
	xargs sha256sum >SHA256SUMS)

if [ "$build_image" = 1 ]; then
	if ! platform=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}' 2>/dev/null); then
		echo "release.sh: no docker engine answers: cannot build the image (--no-image to skip it)" >&2
		exit 1
	fi
	bin=$work/goinfra_${VERSION}_${platform%/*}_${platform#*/}/goinfra
	if [ ! -f "$bin" ]; then
		echo "release.sh: the engine is $platform, a target not built here: no image (add it to --targets)" >&2
		exit 1
	fi
	: "${image:=goinfra:${VERSION//+/-}}"
	ctx=$work/image
	# What a static binary needs of a root filesystem: a user database
	# (for ~ and the default SSH user), a temporary directory, a home.
	mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/rootfs/root"
	cp "$bin" "$ctx/rootfs/usr/local/bin/goinfra"
	printf 'root:x:0:0:root:/root:/usr/local/bin/goinfra\nnobody:x:65534:65534:nobody:/nonexistent:/usr/local/bin/goinfra\n' >"$ctx/rootfs/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group"
	chmod 1777 "$ctx/rootfs/tmp"
	chmod 0700 "$ctx/rootfs/root"
	cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin HOME=/root
LABEL org.opencontainers.image.title=goinfra \\
      org.opencontainers.image.version=$VERSION \\
      org.opencontainers.image.revision=$commit \\
      org.opencontainers.image.created=$date \\
      org.opencontainers.image.source=https://github.com/goinfra-dev/goinfra
ENTRYPOINT ["/usr/local/bin/goinfra"]
CMD ["--help"]
EOF
	echo "release.sh: building image $image ($platform)"
	docker build --quiet --tag "$image" "$ctx" >/dev/null
fi

echo "release.sh: done"
(cd "$dist" && ls -l)
[ "$build_image" = 1 ] && echo "image: $image"
exit 0
