package connector

import (
	"context"
	"io/fs"
	"time"
)

// FileStat is a path's metadata as a Stater reads it: what SFTP's
// attributes carry (numeric owner and group, no change time).
type FileStat struct {
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, ...) and the
	// permission bits with set-id and sticky.
	Mode         fs.FileMode
	Size         int64
	UID, GID     uint32
	ATime, MTime time.Time
}

// Stater is an optional Conn capability: a path's metadata without
// running a command (the ssh connector reads it over its SFTP session),
// always as the login user, so callers use it only for commands that do
// not escalate. Nothing at the path is an error matching fs.ErrNotExist;
// a connection that cannot answer this way (no SFTP on the host) returns
// an error matching ErrUnsupported, and the caller runs its command.
type Stater interface {
	// Stat follows a symbolic link; Lstat describes the path itself.
	Stat(ctx context.Context, path string) (*FileStat, error)
	Lstat(ctx context.Context, path string) (*FileStat, error)
	// Readlink is a symbolic link's target as stored.
	Readlink(ctx context.Context, path string) (string, error)
}
