// Package chroot is the connector kind "chroot": it runs commands inside a
// directory tree as their root directory, and copies files into and out of
// that tree.
//
// The target "@chroot/<dir>" names the directory; as in pyinfra the
// directory is always taken from the host's root, so "@chroot//mnt/rootfs"
// and "@chroot/mnt/rootfs" both mean /mnt/rootfs. The host data key
// chroot_directory overrides it.
//
// goinfra chroots the child process itself (no chroot program, no extra
// shell layer) and must therefore run as root. Privilege switches (_sudo,
// _sudo_user, _su_user, _doas) do not need sudo or su inside the tree: the
// command runs directly with the uid, gid and groups that the chroot's own
// /etc/passwd and /etc/group give that user.
//
// File paths resolve as they would inside the chroot: every lookup goes
// through openat2 with RESOLVE_IN_ROOT, so neither "..", nor an absolute
// symlink, nor one full of "../" can lead goinfra out of the tree (pyinfra's
// plain cp follows such a symlink onto the host's files). Files are copied
// by goinfra itself, atomically (a temporary file renamed into place); with
// a user switch the new file is that user's, and the user's permissions
// are checked as for a copy the user made.
//
// The tree is used as it is: goinfra mounts nothing in it (/proc, /dev);
// commands that need them expect the caller to have mounted them.
package chroot

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
)

// DirectoryKey is the host data key naming the chroot directory.
const DirectoryKey = "chroot_directory"

var dataKeys = []connector.DataKey{
	{Name: DirectoryKey, Type: connector.String, Description: "directory to chroot into (set from the target: @chroot/<dir>)"},
}

// Driver is the chroot connector kind.
type Driver struct{}

func init() { connector.Register("chroot", Driver{}) }

// DataKeys implements connector.Driver.
func (Driver) DataKeys() []connector.DataKey { return dataKeys }

// Expand implements connector.Driver: one host "@chroot/<arg>" whose
// directory is arg taken from the root.
func (Driver) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, errors.New("@chroot needs a directory: @chroot/<dir>, e.g. @chroot//mnt/rootfs")
	}
	if strings.ContainsRune(arg, 0) {
		return nil, fmt.Errorf("@chroot/%s: the directory contains a NUL byte", arg)
	}
	return []connector.Target{{
		Name: "@chroot/" + arg,
		Data: map[string]any{DirectoryKey: dirFromArg(arg)},
	}}, nil
}

func dirFromArg(arg string) string {
	return path.Clean("/" + strings.TrimLeft(arg, "/"))
}
