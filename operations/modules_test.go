package operations_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

func noPlan(context.Context, operations.Host, connector.Data) (*operations.Plan, error) {
	return nil, nil
}

// Modules groups by the text before the first ".", both levels sorted,
// whatever the order of registration; a module whose name is another's
// prefix (zzmod, zzmod-extra) stays apart.
func TestModules(t *testing.T) {
	for _, name := range []string{"zzmod.b", "zzmod-extra.a", "zzmod.a", "zzmoe.x"} {
		operations.Register(operations.Op{Name: name, Plan: noPlan})
	}
	var got []string
	for _, m := range operations.Modules() {
		for _, op := range m.Ops {
			if len(m.Name) >= 4 && m.Name[:4] == "zzmo" {
				got = append(got, m.Name+":"+op.Name)
			}
		}
	}
	want := "[zzmod:zzmod.a zzmod:zzmod.b zzmod-extra:zzmod-extra.a zzmoe:zzmoe.x]"
	if fmt.Sprint(got) != want {
		t.Errorf("Modules: %v, want %s", got, want)
	}
}
