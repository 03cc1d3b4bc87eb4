//go:build unix

package workdir_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/examples/workdir-connector/workdir"
)

// BenchmarkRun measures what one command costs through the same connector
// built in and run as an external program (the difference is the
// protocol's per-command overhead: a JSON request, streamed lines, the exit
// message, over two pipes).
//
//	go test -run XXX -bench Run -count 5 ./examples/workdir-connector/workdir/
func BenchmarkRun(b *testing.B) {
	root := b.TempDir()
	data := connector.Data{"workdir_directory": root}
	bin := filepath.Join(b.TempDir(), external.Prefix+"workdir")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/goinfra-connector-workdir").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	prog, err := external.Load(context.Background(), "workdir", bin)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		d    connector.Driver
	}{{"builtin", workdir.Driver{}}, {"external", prog}} {
		b.Run(k.name, func(b *testing.B) {
			c, err := k.d.(connector.Opener).Open(&connector.Host{Name: "bench", Data: data})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Connect(ctx); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cmd := command.Shell("echo hello")
			for b.Loop() {
				res, err := c.Run(ctx, cmd, connector.Options{})
				if err != nil || len(res.Lines) != 1 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
	_ = os.Remove(bin)
}
