//go:build unix

package local_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// BenchmarkRunTrue is the per-command cost of the local connector; compare
// with BenchmarkShTrue, the cost of starting the same shell directly.
func BenchmarkRunTrue(b *testing.B) {
	c := local.New(nil)
	ctx := context.Background()
	cmd := command.Shell("true")
	for b.Loop() {
		if _, err := c.Run(ctx, cmd, connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkShTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunTrueSudo adds sudo's start-up to every command.
func BenchmarkRunTrueSudo(b *testing.B) {
	if _, err := exec.LookPath("sudo"); err != nil {
		b.Skip("no sudo")
	}
	c := local.New(nil)
	ctx := context.Background()
	cmd := command.Shell("true")
	opts := connector.Options{Unix: command.Unix{Sudo: true}}
	for b.Loop() {
		if _, err := c.Run(ctx, cmd, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutGet1MiB is an atomic 1 MiB upload and its download.
func BenchmarkPutGet1MiB(b *testing.B) {
	c := local.New(nil)
	ctx := context.Background()
	data := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18)
	dst := filepath.Join(b.TempDir(), "f")
	var buf bytes.Buffer
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.Put(ctx, bytes.NewReader(data), dst, connector.Options{}); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := c.Get(ctx, dst, &buf, connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
