package files

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/operations"
)

var rsyncOp = operations.Op{
	Name:        "files.rsync",
	Description: "copy a local directory or file to the host with this machine's rsync (ssh and @local hosts); runs on every run, as pyinfra's",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "local path, relative to the deploy file's directory (a trailing / copies a directory's content)", LocalPath: true},
		{Name: "dest", Type: connector.String, Required: true, Description: "remote path"},
		{Name: "flags", Type: connector.StringList, Default: []any{"-ax", "--delete"}, Description: "rsync's options"},
	},
	Plan: planRsync,
}

// rsyncer is the ssh connector's capability: rsync over OpenSSH with the
// connection's settings.
type rsyncer interface {
	Rsync(ctx context.Context, src, dst string, opts connector.Options, flags ...string) error
}

// rsync cannot tell what it would change without running (a dry run needs
// the connection, which planning does not have): like pyinfra's, the
// operation always runs and counts as a change.
func planRsync(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src, dest := operations.LocalPath(h, args.String("src")), args.String("dest")
	if strings.HasSuffix(args.String("src"), "/") && !strings.HasSuffix(src, "/") {
		src += "/" // rsync's "the directory's content", which Join drops
	}
	if err := remotePath("dest", dest); err != nil {
		return nil, err
	}
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	flags := args.Strings("flags")
	return &operations.Plan{Steps: []operations.Step{&operations.Func{
		Desc: fmt.Sprintf("rsync %v %s to %s", flags, src, dest),
		Do: func(ctx context.Context, conn connector.Conn, opts connector.Options) error {
			if r, ok := connector.As[rsyncer](conn); ok {
				return r.Rsync(ctx, src, dest, opts, flags...)
			}
			if _, ok := connector.As[*local.Conn](conn); ok {
				// On @local the host is this machine: rsync runs as a
				// command, wrapped (_sudo, ...) as any other.
				argv := append(append([]string{"rsync"}, flags...), "--", src, dest)
				_, err := conn.Run(ctx, command.Args(argv...), opts)
				return err
			}
			return fmt.Errorf("files.rsync works on ssh and @local hosts only")
		},
	}}}, nil
}
