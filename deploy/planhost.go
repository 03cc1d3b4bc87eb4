package deploy

import (
	"context"
	"errors"

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
	// asked: the operation asked a fact.
	asked bool
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
	p.asked = true
	o := p.opts
	o.Stdin, o.OnLine, o.OnCommand = nil, nil, nil
	return facts.Host{Name: p.h.Name, Conn: p.h.Conn, Opts: o, Cache: p.h}.Fact(ctx, name, args)
}

var _ operations.Host = (*planHost)(nil)

// errNoFacts is what a factless host answers every fact with.
var errNoFacts = errors.New("no facts while checking arguments")

// factless is a host that has the data, groups and directory of a real one
// but answers no fact: planning on it shows whether an operation fails
// before it asks its host anything.
type factless struct {
	*planHost
	asked bool
}

func (f *factless) Fact(context.Context, string, facts.Args) (any, error) {
	f.asked = true
	return nil, errNoFacts
}

// argumentError reports whether op's planning fails on its arguments and
// local files alone: planned again on a host that answers no fact, it
// fails without having asked one. Such a failure (an invalid mode, a
// missing local src= file) is the deploy's, the same on every host; one
// that depends on what the host holds is the host's.
func argumentError(ctx context.Context, op *operations.Op, ph *planHost, args connector.Data) bool {
	f := &factless{planHost: ph}
	_, err := op.Plan(ctx, f, args)
	return err != nil && !f.asked && !errors.Is(err, errNoFacts)
}
