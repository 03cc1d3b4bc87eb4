package cli

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/inventory"
)

// External connector programs (goinfra-connector-<kind>) are registered
// only when a run may need them: listing PATH costs a few milliseconds,
// which a run whose kinds are all built in should not pay. They are found
// for `connectors`, for an inventory file, for a target naming a kind that
// is not registered, and when loading the inventory meets an unknown kind
// (an inventory kind may yield "@kind/..." names). Built-in kinds win over
// programs of the same name; problems are warnings, never a failed start.

func (a *app) addExternalFlags(c *cobra.Command) {
	c.PersistentFlags().StringArrayVar(&a.connectorPath, "connector-path", nil,
		"directory searched for goinfra-connector-<kind> programs before "+external.PathEnv+" and PATH (repeatable)")
}

func (a *app) registerExternal(c *cobra.Command, args []string) error {
	if c.Name() == "connectors" || (len(args) > 0 && mayNeedExternal(args[0])) {
		a.discoverExternal(c.Context())
	}
	return nil
}

func (a *app) discoverExternal(ctx context.Context) {
	external.Register(ctx, external.Config{Dirs: a.connectorPath, Log: a.logger()})
}

// mayNeedExternal reports whether an inventory spec may name a kind that
// is not registered yet: an inventory file, or a target "@kind..." of an
// unregistered kind.
func mayNeedExternal(spec string) bool {
	if strings.HasSuffix(spec, ".star") {
		return true
	}
	if _, err := os.Stat(spec); err == nil {
		return true
	}
	for _, t := range strings.Split(spec, ",") {
		t = strings.TrimSpace(t)
		kind, ok := strings.CutPrefix(t, "@")
		if !ok {
			continue
		}
		if i := strings.IndexByte(kind, '/'); i >= 0 {
			kind = kind[:i]
		}
		if _, known := connector.Lookup(kind); !known {
			return true
		}
	}
	return false
}

// loadInventory loads spec; when that fails on an unknown kind, the
// external programs are registered and it is loaded once more.
func (a *app) loadInventory(ctx context.Context, spec string, opts inventory.Options) (*inventory.Inventory, error) {
	inv, err := inventory.Load(ctx, spec, opts)
	var unknown *connector.UnknownKindError
	if errors.As(err, &unknown) {
		before := len(connector.Kinds())
		a.discoverExternal(ctx)
		if len(connector.Kinds()) > before {
			inv, err = inventory.Load(ctx, spec, opts)
		}
	}
	return inv, err
}
