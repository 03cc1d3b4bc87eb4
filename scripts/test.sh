#!/usr/bin/env bash
# Runs every test of goinfra, installing what the tests need first.
# Extra arguments go to `go test` (e.g. -run TestExec -v).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-deps.sh
go vet ./...
# Two CPUs: two test binaries at a time. Integration tests start sshd,
# containers and chroots; the timeout is generous, the CI limit is 90 min.
go test -p 2 -timeout 80m "$@" ./...
