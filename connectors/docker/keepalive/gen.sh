#!/bin/sh
# Rebuilds the keep-alive programs from their assembly source (GNU binutils).
# The results are committed; the docker tests check they match this source.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
as --64 -o "$tmp/ka.o" amd64.asm
ld -static -nostdlib -N -s --build-id=none --no-warn-rwx-segments -o linux-amd64 "$tmp/ka.o"
