// Package server registers the server.* operations and facts:
// server.shell, server.script, server.user, server.group,
// server.service, server.hostname, server.sysctl, server.modprobe,
// server.mount, server.crontab, server.locale, server.timezone,
// server.security_limit, server.packages, server.wait and server.reboot,
// and the facts
// (facts.go, sysfacts.go) server.Hostname, server.Os, server.Arch,
// server.Kernel, server.KernelVersion, server.User, server.Home,
// server.Which, server.Users, server.Groups, server.PasswordDigest,
// server.LinuxDistribution, server.Date, server.InitSystem,
// server.ServiceStatus, server.Sysctl, server.Mounts,
// server.KernelModules, server.Crontab, server.Locales, server.Selinux,
// server.SecurityLimits and server.Timezone. Go code reads a fact
// through its typed descriptor: server.Os.Get(ctx, h) is a string.
//
// server imports operations/files for the files.* facts of home
// directories and authorized_keys; files imports no other module.
//
// The operations take pyinfra's argument names and defaults. All but
// shell, script, wait and reboot read facts and plan only the steps
// needed, so a second run changes nothing; those run every time, as in
// pyinfra.
// server.packages hands over to the module of the host's package manager
// (apt.packages), through the registry: server imports no other package
// module.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

func init() {
	operations.Register(shellOp)
	operations.Register(scriptOp)
	operations.Register(userOp)
	operations.Register(groupOp)
	operations.Register(serviceOp)
}

var shellOp = operations.Op{
	Name:        "server.shell",
	Description: "run shell commands (every time)",
	Args: []operations.Arg{
		{Name: "commands", Type: connector.StringList, Required: true, Description: "a command line or a list of them, run by the shell in order"},
	},
	Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
		p := &operations.Plan{}
		for _, c := range args.Strings("commands") {
			p.Steps = append(p.Steps, &operations.Command{Cmd: command.Shell(c)})
		}
		return p, nil
	},
}

var scriptOp = operations.Op{
	Name:        "server.script",
	Description: "upload a local script, run it and remove it (every time)",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "local script, relative to the deploy file", LocalPath: true},
		{Name: "args", Type: connector.StringList, Description: "arguments to the script"},
	},
	Plan: planScript,
}

// TempDir is where server.script puts a script while it runs.
const TempDir = "/tmp"

func planScript(_ context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src := operations.LocalPath(h, args.String("src"))
	// Fail while planning, not halfway through a run.
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("src: %s is not a regular file", src)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	// A fresh name per plan: concurrent runs never share a file.
	dest := TempDir + "/goinfra-script-" + hex.EncodeToString(rnd[:])
	run := command.Args(append([]string{dest}, args.Strings("args")...)...)
	return &operations.Plan{Steps: []operations.Step{
		&operations.Upload{Src: src, Dest: dest, Open: func() (io.ReadCloser, error) { return os.Open(src) }},
		&operations.Command{Cmd: command.Args("chmod", "700", dest)},
		// The script's exit status is the step's; the file goes either way.
		&operations.Command{Cmd: command.New(run, ";", "rc=$?", ";", "rm", "-f", command.Quoted(dest), ";", "exit", "$rc")},
	}}, nil
}

// optInt reads an argument that may be an int, a string of digits or None.
func optInt(args connector.Data, name string) (*int, error) {
	v := args[name]
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		v = connector.ParseValue(s)
	}
	n, ok := connector.Convert(connector.Int, v)
	if !ok || n.(int) < 0 {
		return nil, fmt.Errorf("%s: expected a number, given %v", name, args[name])
	}
	i := n.(int)
	return &i, nil
}
