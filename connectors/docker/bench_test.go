package docker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
)

// Benchmarks against the docker CLI, in the same run on the same
// containers: bench/docker/run.sh runs them and prints medians.

func benchContainer(b *testing.B, n int) ([]string, []connector.Conn) {
	b.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		b.Skip("no docker CLI to compare with")
	}
	e := &dockertest.Engine{Kind: "docker", Cli: dockertest.Client(b)}
	base := dockertest.BaseImage(b, e.Cli)
	var names []string
	var conns []connector.Conn
	for i := 0; i < n; i++ {
		name := dockertest.Name("bench")
		dockertest.Container(b, e.Cli, base, name, true)
		c, _ := e.Open(b, name, nil)
		if err := c.Connect(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		names = append(names, name)
		conns = append(conns, c)
	}
	return names, conns
}

func cli(b *testing.B, args ...string) {
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		b.Fatalf("docker %v: %v\n%s", args, err, out)
	}
}

// pair measures goinfra and the docker CLI doing the same thing, in turns
// within each iteration so that both see the same machine load, and
// reports each side's mean in ms/op.
func pair(b *testing.B, goinfra, cli func(b *testing.B)) {
	var g, c time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		goinfra(b)
		t1 := time.Now()
		cli(b)
		c += time.Since(t1)
		g += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(g.Microseconds())/1e3/float64(n), "goinfra-ms/op")
	b.ReportMetric(float64(c.Microseconds())/1e3/float64(n), "cli-ms/op")
}

// BenchmarkTrue: one command, `true`, through `sh -c` on both sides.
func BenchmarkTrue(b *testing.B) {
	names, conns := benchContainer(b, 1)
	pair(b, func(b *testing.B) {
		if _, err := conns[0].Run(context.Background(), command.Shell("true"), connector.Options{}); err != nil {
			b.Fatal(err)
		}
	}, func(b *testing.B) {
		cli(b, "exec", names[0], "sh", "-c", "true")
	})
}

// BenchmarkFile100MiB: a 100 MiB file up (vs docker cp into the container)
// and down (vs docker cp out of it).
func BenchmarkFile100MiB(b *testing.B) {
	names, conns := benchContainer(b, 1)
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	io.CopyN(f, rand.Reader, 100<<20)
	f.Close()
	ctx := context.Background()
	b.Run("put", func(b *testing.B) {
		pair(b, func(b *testing.B) {
			if err := connector.PutFile(ctx, conns[0], src, "/tmp/big", connector.Options{}); err != nil {
				b.Fatal(err)
			}
		}, func(b *testing.B) {
			cli(b, "cp", src, names[0]+":/tmp/big")
		})
	})
	dst := filepath.Join(dir, "dst")
	b.Run("get", func(b *testing.B) {
		pair(b, func(b *testing.B) {
			if err := connector.GetFile(ctx, conns[0], "/tmp/big", dst, connector.Options{}); err != nil {
				b.Fatal(err)
			}
		}, func(b *testing.B) {
			cli(b, "cp", names[0]+":/tmp/big", dst)
		})
	})
}

// BenchmarkParallel: 20 commands on each of 10 containers, the containers
// in parallel, the commands of one container in sequence (as a deploy runs).
func BenchmarkParallel(b *testing.B) {
	names, conns := benchContainer(b, 10)
	each := func(b *testing.B, f func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, len(names))
		for i := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 20; j++ {
					if err := f(i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	pair(b, func(b *testing.B) {
		each(b, func(i int) error {
			_, err := conns[i].Run(context.Background(), command.Shell("echo hi"), connector.Options{})
			return err
		})
	}, func(b *testing.B) {
		each(b, func(i int) error {
			out, err := exec.Command("docker", "exec", names[i], "sh", "-c", "echo hi").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	})
}
