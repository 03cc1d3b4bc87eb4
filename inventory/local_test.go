package inventory_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/runargs"
)

// seedInventory is the inventory-only connector of the seed
// (writing-connectors.md): its make_names_data yields "@local", {}, ["@local"].
type seedInventory struct{}

func (seedInventory) Expand(context.Context, string) ([]connector.Target, error) {
	return []connector.Target{{Name: "@local", Data: map[string]any{"from_seed": true}, Groups: []string{"@local"}}}, nil
}

func (seedInventory) DataKeys() []connector.DataKey { return nil }

func init() { connector.Register("tseed", seedInventory{}) }

// The name an inventory-only kind yields is itself a target string of an
// executing kind (@local): the host is run by the real local connector,
// with its data layered and checked, and a command reaches a real shell.
func TestSeedInventoryYieldsLocal(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "seed.star")
	if err := os.WriteFile(inv, []byte(`hosts = [("@tseed", {"_env": {"GREETING": "hello $USER 'x'"}})]`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := inventory.Load(ctx, inv, inventory.Options{Data: map[string]any{"_chdir": dir}})
	if err != nil {
		t.Fatal(err)
	}
	h := in.Get("@local")
	if h == nil || h.Kind != local.Kind || len(in.Hosts) != 1 {
		t.Fatalf("hosts %+v", in.Hosts)
	}
	if got := strings.Join(h.Groups, ","); got != "seed,@tseed,@local,hosts" {
		t.Errorf("groups %s", got)
	}
	if !h.Data.Bool("from_seed") || h.Source("from_seed") != "connector tseed" {
		t.Errorf("seed data %v", h.Data)
	}
	drv, _ := connector.Lookup(h.Kind)
	conn, err := drv.(connector.Opener).Open(h.ConnectorHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	args, err := runargs.Resolver{Host: h.Name, Data: h.Data}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	res, err := conn.Run(ctx, command.Shell(`printf '%s|%s' "$GREETING" "$(pwd)"`), args.Options)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Stdout(), "hello $USER 'x'|"+dir; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}
