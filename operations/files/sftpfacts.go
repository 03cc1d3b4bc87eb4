package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io/fs"
	"path"
	"strconv"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// Over a connection that reads metadata itself (connector.Stater: the
// ssh connector's SFTP session), files.File, files.Directory, files.Link
// and files.FileSha256 answer without a command where that answer is the
// whole fact: nothing at the path, or something of another type (their
// Native). An existing path of the fact's type still runs the command,
// whose answer has what SFTP's attributes lack: owner and group names,
// the change time. That saves the StatStyle and stat commands (each a
// session and a shell on an ssh host) where operations create things,
// and files.put's look before its upload. files.FileDigest has no owner
// and no times: SFTP answers all of it, for a small file also its
// checksum (nativeDigest).
var (
	nativeFile      = nativeLook(typeRegular, func(typ string) any { return &RegularInfo{NotFile: true, Type: typ} })
	nativeDirectory = nativeLook(typeDirectory, func(string) any { return &DirInfo{NotDir: true} })
	nativeLink      = nativeLook(typeLink, func(string) any { return &LinkInfo{NotLink: true} })
)

// nativeSha256 is FileSha256's: another type is its error.
func nativeSha256(ctx context.Context, conn connector.Conn, a facts.Args, opts connector.Options) (any, bool, error) {
	v, ok, err := nativeLook(typeRegular, func(typ string) any { return &NotRegularError{Path: a["path"], Type: typ} })(ctx, conn, a, opts)
	if e, isErr := v.(error); isErr {
		return nil, true, e
	}
	return v, ok, err
}

// nativeReadMax is the largest file files.FileDigest reads over SFTP to
// checksum it here: a few requests on the session that is open anyway,
// where a command costs a process or three on the host and a round trip.
// A larger file is checksummed on the host, not sent over the network.
const nativeReadMax = 64 << 10

// nativeDigest is FileDigest's: an lstat, then for a small regular file
// its content, read as the login user and checksummed here. Whatever
// that cannot settle (a read denied, the file changing size meanwhile)
// is the command's, which says why.
func nativeDigest(ctx context.Context, conn connector.Conn, a facts.Args, opts connector.Options) (any, bool, error) {
	p := a["path"]
	fi, ok, err := nativeLstat(ctx, conn, p, opts)
	if fi == nil {
		return nil, ok, err
	}
	if typ := modeType(fi.Mode); typ != typeRegular {
		return nil, true, &NotRegularError{Path: p, Type: typ}
	}
	if fi.Size > nativeReadMax {
		return nil, false, nil
	}
	w := &cappedHash{h: sha256.New(), max: fi.Size}
	if r, ok := connector.As[connector.SmallReader](conn); ok {
		// Knowing the size saves Get's round trips (see SmallReader).
		var b []byte
		if b, err = r.ReadSmall(ctx, p, fi.Size); err == nil {
			_, err = w.Write(b)
		}
	} else {
		err = conn.Get(ctx, p, w, opts)
	}
	if err != nil || w.n != fi.Size {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, nil
	}
	return &Digest{Mode: modeDigits(fi.Mode), Size: fi.Size, Sha256: hex.EncodeToString(w.h.Sum(nil))}, true, nil
}

// cappedHash hashes up to max bytes; more is an error (the file grew
// since its lstat).
type cappedHash struct {
	h      hash.Hash
	n, max int64
}

var errGrew = errors.New("file larger than its lstat said")

func (c *cappedHash) Write(b []byte) (int, error) {
	if c.n+int64(len(b)) > c.max {
		return 0, errGrew
	}
	c.n += int64(len(b))
	return c.h.Write(b)
}

// modeDigits is m's permission bits as FileInfo.Mode writes them (octal
// digits read as decimal), as parseStat gives them.
func modeDigits(m fs.FileMode) int {
	d, _ := strconv.Atoi(strconv.FormatUint(uint64(unixPerm(m)), 8))
	return d
}

// nativeLook answers a file fact whose type is want from an lstat: nil
// for nothing at the path, other(type) for another type.
func nativeLook(want string, other func(typ string) any) facts.Native {
	return func(ctx context.Context, conn connector.Conn, a facts.Args, opts connector.Options) (any, bool, error) {
		fi, ok, err := nativeLstat(ctx, conn, a["path"], opts)
		if fi == nil {
			return nil, ok, err
		}
		if typ := modeType(fi.Mode); typ != want {
			return other(typ), true, nil
		}
		return nil, false, nil
	}
}

// nativeLstat is the lstat the native file facts start with. A nil fi
// with ok true answers "nothing at p"; with ok false the fact is its
// command's (err set when the context ended).
func nativeLstat(ctx context.Context, conn connector.Conn, p string, opts connector.Options) (fi *connector.FileStat, ok bool, err error) {
	// The Stater reads as the login user, from its own working
	// directory: an escalated fact, or a relative path, is the command's.
	if opts.Escalates() || !path.IsAbs(p) {
		return nil, false, nil
	}
	st, isStater := connector.As[connector.Stater](conn)
	if !isStater {
		return nil, false, nil
	}
	fi, err = st.Lstat(ctx, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, true, nil
	case err != nil && ctx.Err() != nil:
		return nil, false, err
	case err != nil:
		// No SFTP, permission denied, a file in the path (ENOTDIR): the
		// command answers, or says why not.
		return nil, false, nil
	}
	return fi, true, nil
}

// modeType names a mode's file type as parseStat does.
func modeType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return typeRegular
	case m.IsDir():
		return typeDirectory
	case m&fs.ModeSymlink != 0:
		return typeLink
	case m&fs.ModeCharDevice != 0:
		return typeNames[0o020000]
	case m&fs.ModeDevice != 0:
		return typeNames[0o060000]
	case m&fs.ModeNamedPipe != 0:
		return typeNames[0o010000]
	case m&fs.ModeSocket != 0:
		return typeNames[0o140000]
	}
	return "file of unknown type"
}
