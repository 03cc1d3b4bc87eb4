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

// SmallReader is an optional Conn capability of Staters: the content of a
// small regular file that an Lstat just found to be size bytes long, read
// as the login user in as few round trips as the connection allows (over
// SFTP an open and one read; a Get also asks the size and reads to the end
// of the file, and waits for the close). A file that is no longer size
// bytes long is an error, as is one that cannot be read.
type SmallReader interface {
	ReadSmall(ctx context.Context, path string, size int64) ([]byte, error)
}
