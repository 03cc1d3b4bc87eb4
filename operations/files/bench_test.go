package files_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// BenchmarkPlanPutNoChange: what a second run of files.put costs on
// @local (one fact: files.FileSha256).
func BenchmarkPlanPutNoChange(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, make([]byte, 64<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	h := &optest.Host{HostName: "@local", Conn: conn, HostData: connector.Data{}, Dir: dir}
	op, _ := operations.Lookup("files.put")
	args, err := operations.CheckArgs(op, map[string]any{"src": src, "dest": filepath.Join(dir, "dest")})
	if err != nil {
		b.Fatal(err)
	}
	p, err := op.Plan(ctx, h, args)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range p.Steps {
		if _, err := operations.Execute(ctx, conn, s, h.Opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := op.Plan(ctx, h, args)
		if err != nil || p.Changed() {
			b.Fatalf("plan: %v %v", p, err)
		}
	}
}

// BenchmarkRender renders a small template with a loop.
func BenchmarkRender(b *testing.B) {
	src := filepath.Join(b.TempDir(), "t.j2")
	if err := os.WriteFile(src, []byte("# {{ host.name }}\n{% for s in l %}server {{ s }};\n{% endfor %}"), 0o644); err != nil {
		b.Fatal(err)
	}
	vars := map[string]any{"l": []any{"a", "b", "c", "d"}}
	for b.Loop() {
		if _, err := files.Render(src, exampleHost{}, vars); err != nil {
			b.Fatal(err)
		}
	}
}
