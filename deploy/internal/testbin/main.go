// Command testbin is goinfra for the deploy package's end-to-end tests:
// the real command with two additions. A connector kind "twin" runs
// hosts @twin/NAME on this machine (as @local does), so that a test has
// several independent local hosts; and minimal server.shell and files.put
// operations (with the fact files.Sha256File) are registered when the
// binary does not already link real ones. The docker kind is linked
// here in case connectors/builtin does not link it yet.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goinfra-dev/goinfra/cli"
	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/builtin"
	_ "github.com/goinfra-dev/goinfra/connectors/docker"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

type twin struct{}

func (twin) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, fmt.Errorf("@twin needs a name: @twin/NAME")
	}
	return []connector.Target{{Name: "@twin/" + arg, Data: map[string]any{}, Groups: []string{"@twin"}}}, nil
}
func (twin) DataKeys() []connector.DataKey { return nil }
func (twin) Open(h *connector.Host) (connector.Conn, error) {
	return local.New(h), nil
}

func main() {
	connector.Register("twin", twin{})
	registerFallbacks()
	os.Exit(cli.Main(os.Args[1:]))
}

// registerFallbacks registers what the tests use and no linked package
// provides yet. It runs after every init, so a real operation wins.
func registerFallbacks() {
	if _, ok := facts.Lookup("files.Sha256File"); !ok {
		facts.Register(facts.Fact{
			Name:     "files.Sha256File",
			Args:     []string{"path"},
			Required: []string{"path"},
			Command: func(a facts.Args) (command.Command, error) {
				q := command.Quoted(a["path"])
				return command.New("if", "test", "-f", q, ";", "then", "sha256sum", q, ";", "fi"), nil
			},
			Parse: func(out connector.Output, _ facts.Args) (any, error) {
				for _, l := range out.StdoutLines() {
					if f := strings.Fields(l); len(f) > 0 {
						return f[0], nil
					}
				}
				return nil, nil
			},
		})
	}
	if _, ok := operations.Lookup("server.shell"); !ok {
		operations.Register(operations.Op{
			Name: "server.shell",
			Args: []operations.Arg{{Name: "commands", Type: connector.StringList, Required: true}},
			Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
				p := &operations.Plan{}
				for _, c := range args.Strings("commands") {
					p.Steps = append(p.Steps, &operations.Command{Cmd: command.Shell(c)})
				}
				return p, nil
			},
		})
	}
	if _, ok := operations.Lookup("files.put"); !ok {
		operations.Register(operations.Op{
			Name: "files.put",
			Args: []operations.Arg{
				{Name: "src", Type: connector.String, Required: true},
				{Name: "dest", Type: connector.String, Required: true},
			},
			Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
				src, dest := operations.LocalPath(h, args.String("src")), args.String("dest")
				content, err := os.ReadFile(src)
				if err != nil {
					return nil, err
				}
				sum := sha256.Sum256(content)
				remote, err := h.Fact(ctx, "files.Sha256File", facts.Args{"path": dest})
				if err != nil {
					return nil, err
				}
				if remote == hex.EncodeToString(sum[:]) {
					return &operations.Plan{}, nil
				}
				diff := "--- " + dest + "\n+++ " + dest + "\n"
				for _, l := range strings.SplitAfter(strings.TrimSuffix(string(content), "\n"), "\n") {
					diff += "+" + strings.TrimSuffix(l, "\n") + "\n"
				}
				return &operations.Plan{
					Steps: []operations.Step{&operations.Upload{
						Src:  src,
						Dest: dest,
						Open: func() (io.ReadCloser, error) { return os.Open(src) },
					}},
					Diff: diff,
				}, nil
			},
		})
	}
}
