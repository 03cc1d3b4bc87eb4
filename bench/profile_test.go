//go:build linux

package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/ssh"
)

// BenchmarkProfileAN is aN's goinfra side in this process, for pprof
// (the binary has no profiling flag):
//
//	go test ./bench -run '^$' -bench ProfileAN -benchtime 20x -cpuprofile cpu.out
func BenchmarkProfileAN(b *testing.B) {
	f := benchFleet(b)
	d, ok := connector.Lookup(ssh.Kind)
	if !ok {
		b.Fatal("no ssh connector")
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for _, s := range f.Servers {
			wg.Go(func() {
				c, err := d.(connector.Opener).Open(&connector.Host{Name: s.Name, Data: connector.Data{
					ssh.KeyHostname: s.Host, ssh.KeyPort: s.Port, ssh.KeyUser: benchUser, ssh.KeyKey: f.KeyFile,
					ssh.KeyKnownHostsFile: f.KnownHostsFile, ssh.KeyStrictHostKeyChecking: "yes",
					ssh.KeyAllowAgent: false, ssh.KeyConfigFile: "/dev/null",
				}})
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				if err := c.Connect(ctx); err != nil {
					b.Error(err)
					return
				}
				if _, err := c.Run(ctx, command.Shell("true"), connector.Options{}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
}
