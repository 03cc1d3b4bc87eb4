//go:build linux

package chroot_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/chroot"
)

// A command run in a chroot as a user of the tree's own /etc/passwd (no
// sudo needed inside). Needs root and a root filesystem at /mnt/rootfs.
func Example() {
	ctx := context.Background()
	d := chroot.Driver{}
	targets, _ := d.Expand(ctx, "/mnt/rootfs") // "@chroot//mnt/rootfs"
	c, err := d.Open(&connector.Host{Name: targets[0].Name, Data: targets[0].Data})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err) // e.g. "needs root" or "does not exist"
		return
	}
	res, err := c.Run(ctx, command.Shell("id -un"), connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "app"}})
	fmt.Println(res.Stdout(), err)
}
