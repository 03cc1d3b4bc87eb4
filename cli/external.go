package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/inventory"
)

// External connector programs (goinfra-connector-<kind>) are registered
// only when a run may need them: listing PATH costs a few milliseconds,
// which a run whose kinds are all built in should not pay. They are found
// for `connectors` and when loading the inventory meets a kind that is not
// built in (inventory.Options.Lookup). Built-in kinds win over programs of
// the same name; problems are warnings, never a failed start.

func (a *app) addExternalFlags(c *cobra.Command) {
	c.PersistentFlags().StringArrayVar(&a.connectorPath, "connector-path", nil,
		"directory searched for goinfra-connector-<kind> programs before "+external.PathEnv+" and PATH (repeatable)")
}

func (a *app) registerExternal(c *cobra.Command, _ []string) error {
	if err := a.changeDir(); err != nil {
		return err
	}
	if c.Name() == "connectors" {
		a.discoverExternal(c.Context())
	}
	return nil
}

func (a *app) discoverExternal(ctx context.Context) {
	a.discoverOnce.Do(func() {
		external.Register(ctx, external.Config{Dirs: a.connectorPath, Log: a.logger()})
	})
}

// loadInventory loads spec, registering the external connector programs
// the first time it meets a kind that is not built in.
func (a *app) loadInventory(ctx context.Context, spec string, opts inventory.Options) (*inventory.Inventory, error) {
	opts.Lookup = func(kind string) (connector.Driver, bool) {
		if d, ok := connector.Lookup(kind); ok {
			return d, true
		}
		a.discoverExternal(ctx)
		return connector.Lookup(kind)
	}
	return inventory.Load(ctx, spec, opts)
}
