package files

import (
	"context"
	"errors"
	"io/fs"
	"path"

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
// and files.put's look before its upload.
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

// nativeLook answers a file fact whose type is want from an lstat: nil
// for nothing at the path, other(type) for another type.
func nativeLook(want string, other func(typ string) any) facts.Native {
	return func(ctx context.Context, conn connector.Conn, a facts.Args, opts connector.Options) (any, bool, error) {
		p := a["path"]
		// The Stater reads as the login user, from its own working
		// directory: an escalated fact, or a relative path, is the
		// command's.
		if opts.Escalates() || !path.IsAbs(p) {
			return nil, false, nil
		}
		st, ok := connector.As[connector.Stater](conn)
		if !ok {
			return nil, false, nil
		}
		fi, err := st.Lstat(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, true, nil
		case err != nil && ctx.Err() != nil:
			return nil, false, err
		case err != nil:
			// No SFTP, permission denied, a file in the path (ENOTDIR):
			// the command answers, or says why not.
			return nil, false, nil
		}
		if typ := modeType(fi.Mode); typ != want {
			return other(typ), true, nil
		}
		return nil, false, nil
	}
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
