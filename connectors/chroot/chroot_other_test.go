//go:build !linux

package chroot_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/chroot"
)

// Off Linux the kind is listed and its targets expand, but opening one
// fails with a connect error that names the system.
func TestUnavailable(t *testing.T) {
	d := chroot.Driver{}
	targets, err := d.Expand(context.Background(), "/mnt/rootfs")
	if err != nil || len(targets) != 1 {
		t.Fatalf("Expand: %v %v", targets, err)
	}
	_, err = d.Open(&connector.Host{Name: targets[0].Name, Data: connector.Data(targets[0].Data)})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "not available on "+runtime.GOOS) {
		t.Errorf("Open: %v", err)
	}
}
