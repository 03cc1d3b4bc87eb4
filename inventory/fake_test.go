package inventory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/goinfra-dev/goinfra/connector"
)

// Fake kinds, registered under test-only names that no real kind uses.

// fakeSSH stands for the default kind: each name is one host.
type fakeSSH struct{}

func (fakeSSH) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, errors.New("no host name")
	}
	return []connector.Target{{Name: arg, Data: map[string]any{"tssh_hostname": arg}}}, nil
}

func (fakeSSH) DataKeys() []connector.DataKey {
	return []connector.DataKey{
		{Name: "tssh_hostname", Type: connector.String},
		{Name: "tssh_user", Type: connector.String},
		{Name: "tssh_port", Type: connector.Int, Default: 22},
		{Name: "tssh_pass", Type: connector.String, Secret: true},
	}
}

func (fakeSSH) Open(*connector.Host) (connector.Conn, error) { return nil, connector.ErrUnsupported }

// fakeBox is an executing kind like docker: "@tbox/<id>".
type fakeBox struct{}

func (fakeBox) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	switch arg {
	case "":
		return nil, errors.New("@tbox needs an id: @tbox/<id>")
	case "boom":
		panic("boom")
	case "alias":
		// A box that calls itself like an ssh host, to clash with one.
		return []connector.Target{{Name: "web1"}}, nil
	}
	return []connector.Target{{Name: "@tbox/" + arg, Data: map[string]any{"tbox_id": arg}}}, nil
}

func (fakeBox) DataKeys() []connector.DataKey {
	return []connector.DataKey{
		{Name: "tbox_id", Type: connector.String},
		{Name: "tbox_cpus", Type: connector.Int, Default: 1},
		{Name: "tbox_token", Type: connector.String},
	}
}

func (fakeBox) Open(*connector.Host) (connector.Conn, error) { return nil, connector.ErrUnsupported }

// fakeCloud is an inventory-only kind like terraform: "@tcloud/<list>"
// yields the names stored under that list, counting its calls.
type fakeCloud struct {
	mu    sync.Mutex
	calls map[string]int
	lists map[string][]connector.Target
}

var cloud = &fakeCloud{
	calls: map[string]int{},
	lists: map[string][]connector.Target{
		"web": {
			{Name: "10.0.0.1", Data: map[string]any{"tssh_user": "cloud", "zone": "a"}, Groups: []string{"cloud_web"}},
			{Name: "10.0.0.2", Data: map[string]any{"zone": "b"}, Groups: []string{"cloud_web"}},
		},
		"mixed": {
			{Name: "@tbox/app", Data: map[string]any{"tbox_cpus": 4}},
			{Name: "db1"},
		},
		"named":    {{Name: "@tcloud/vm1", Data: map[string]any{"tssh_hostname": "192.0.2.7", "tssh_port": 2201}}},
		"unknown":  {{Name: "@nosuchkind/x"}},
		"badport":  {{Name: "10.9.9.9", Data: map[string]any{"tssh_port": "2222"}}},
		"emptyarg": {{Name: "@tbox"}},
		"none":     {},
	},
}

func (c *fakeCloud) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[arg]++
	if arg == "fail" {
		return nil, errors.New("cloud API said 403 Forbidden")
	}
	ts, ok := c.lists[arg]
	if !ok {
		return nil, fmt.Errorf("no output named %q", arg)
	}
	return ts, nil
}

func (c *fakeCloud) DataKeys() []connector.DataKey { return nil }

func (c *fakeCloud) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.calls
	c.calls = map[string]int{}
	return old
}

func init() {
	connector.Register("tssh", fakeSSH{})
	connector.Register("tbox", fakeBox{})
	connector.Register("tcloud", cloud)
	// Plain names are kind ssh by default; the inventory package links no
	// real connector, so a stand-in takes the name in this test binary.
	if _, ok := connector.Lookup(connector.DefaultKind); !ok {
		connector.Register(connector.DefaultKind, fakeSSH{})
	}
}
