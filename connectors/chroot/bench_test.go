//go:build linux

package chroot

import (
	"bytes"
	"io"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// BenchmarkRun measures a trivial command: chroot, fork and exec of sh.
func BenchmarkRun(b *testing.B) {
	c := openB(b)
	for b.Loop() {
		if _, err := c.Run(b.Context(), command.Shell("true"), connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunAsUser adds the passwd/group lookup of a user switch.
func BenchmarkRunAsUser(b *testing.B) {
	c := openB(b)
	opts := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: appUser}}
	for b.Loop() {
		if _, err := c.Run(b.Context(), command.Shell("true"), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut1MiB measures an atomic upload (temp file, fsync, rename).
func BenchmarkPut1MiB(b *testing.B) {
	c := openB(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.Put(b.Context(), bytes.NewReader(data), "/tmp/bench", connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet1MiB measures a download.
func BenchmarkGet1MiB(b *testing.B) {
	c := openB(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	if err := c.Put(b.Context(), bytes.NewReader(data), "/tmp/bench", connector.Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.Get(b.Context(), "/tmp/bench", io.Discard, connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func openB(b *testing.B) *Conn {
	b.Helper()
	root := makeRootfs(b)
	c, err := Driver{}.Open(&connector.Host{Name: "@chroot/" + root, Data: connector.Data{DirectoryKey: root}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Connect(b.Context()); err != nil {
		b.Fatal(err)
	}
	return c.(*Conn)
}
