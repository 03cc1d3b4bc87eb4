//go:build !unix

package local_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// Off POSIX systems the kind is listed and its host expands, but opening
// it fails with a connect error that names the system and what to do.
func TestUnavailable(t *testing.T) {
	d := local.Driver{}
	targets, err := d.Expand(context.Background(), "")
	if err != nil || len(targets) != 1 || targets[0].Name != local.HostName {
		t.Fatalf("Expand: %v %v", targets, err)
	}
	_, err = d.Open(&connector.Host{Name: local.HostName})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "not available on "+runtime.GOOS) {
		t.Errorf("Open: %v", err)
	}
	c := local.New(nil)
	if err := c.Connect(context.Background()); !errors.Is(err, connector.ErrConnect) {
		t.Errorf("Connect: %v", err)
	}
	if _, err := c.Run(context.Background(), command.New("true"), connector.Options{}); err == nil {
		t.Error("Run: no error")
	}
}
