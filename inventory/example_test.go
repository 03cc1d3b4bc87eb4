package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/inventory"
)

// Load an inventory file with group data, limited to one group, as
// `goinfra prod.star --limit web ...` does.
func Example() {
	dir, err := os.MkdirTemp("", "inventory-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	write := func(name, src string) {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			panic(err)
		}
	}
	write("prod.star", `
web = ["web1", ("web2", {"role": "primary"})]
db = (["db1"], {"backup": True})
`)
	write("group_data/all.star", `region = "eu"`)
	write("group_data/web.star", `role = "replica"
_sudo = True`)

	inv, err := inventory.Load(context.Background(), filepath.Join(dir, "prod.star"),
		inventory.Options{Limit: []string{"web"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range inv.Hosts {
		fmt.Printf("%s kind=%s groups=%v region=%s role=%s (from %s) sudo=%v\n", h.Name, h.Kind, h.Groups,
			h.Data.String("region"), h.Data.String("role"), h.Source("role"), h.Data.Bool("_sudo"))
	}
	// Output:
	// web1 kind=ssh groups=[prod web] region=eu role=replica (from group web) sudo=true
	// web2 kind=ssh groups=[prod web] region=eu role=primary (from host) sudo=true
}

// Target strings, typed --data values and a clear error for a bad one.
func ExampleLoad() {
	ctx := context.Background()
	key, value, _ := inventory.ParseData("_timeout=30")
	inv, err := inventory.Load(ctx, "web1,web2", inventory.Options{Data: map[string]any{key: value}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inv.Get("web2").Data.Duration("_timeout"), inv.Get("web2").Source("_timeout"))

	_, err = inventory.Load(ctx, "web1,@nosuchkind/x", inventory.Options{})
	fmt.Println(err != nil, errors.Is(err, inventory.ErrInvalid))
	// Output:
	// 30s --data
	// true true
}
