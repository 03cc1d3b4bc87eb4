//go:build !linux

package chroot

import (
	"runtime"

	"github.com/goinfra-dev/goinfra/connector"
)

// Description implements connector.Describer.
func (Driver) Description() string {
	return "a directory tree entered with chroot (Linux only: not available on " + runtime.GOOS + ")"
}

// Open fails: the connector needs Linux (openat2 with RESOLVE_IN_ROOT keeps
// every file path inside the tree, and nothing else does that as safely).
// The kind stays registered so that an inventory naming chroot hosts still
// loads; those hosts fail with this error.
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	return nil, connector.Errorf(h.Name, connector.ErrConnect,
		"the chroot connector is not available on %s: it needs Linux (chroot, openat2); run goinfra on the Linux machine that holds the tree",
		runtime.GOOS)
}
