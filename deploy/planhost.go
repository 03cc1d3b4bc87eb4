package deploy

import (
	"context"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// planHost is what an operation sees of its host while planning.
type planHost struct {
	h    *engine.Host
	opts connector.Options
	dir  string
}

// LocalDir implements operations.LocalDirer.
func (p *planHost) LocalDir() string { return p.dir }

func (p *planHost) Name() string { return p.h.Name }

// Groups implements operations.Grouper.
func (p *planHost) Groups() []string {
	if p.h.Host == nil {
		return nil
	}
	return p.h.Groups
}

func (p *planHost) Data() connector.Data {
	if p.h.Host == nil {
		return connector.Data{}
	}
	return p.h.Data
}

func (p *planHost) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	o := p.opts
	o.Stdin, o.OnLine, o.OnCommand = nil, nil, nil
	return facts.Host{Name: p.h.Name, Conn: p.h.Conn, Opts: o, Cache: p.h}.Fact(ctx, name, args)
}

var _ operations.Host = (*planHost)(nil)
