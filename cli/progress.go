package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/deploy"
)

// progress shows the execution: on a terminal one live line (operation,
// hosts done / total, elapsed time); otherwise one plain line per
// operation when it is done.
type progress struct {
	a     *app
	w     io.Writer
	live  bool
	start time.Time
	total int

	mu      sync.Mutex
	op      *deploy.Operation
	index   int
	done    int
	hosts   int
	opStart time.Time
	shown   bool // the live line is on screen
	quit    chan struct{}
	wg      sync.WaitGroup
}

func (a *app) newProgress(plan *deploy.Plan) *progress {
	p := &progress{a: a, w: a.io.Stderr, start: time.Now(), total: len(plan.Ops), quit: make(chan struct{})}
	// The live line needs a terminal that understands escape sequences.
	if f, ok := a.io.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !a.flags.quiet && a.io.Getenv("TERM") != "dumb" {
		p.live = true
		p.wg.Add(1)
		go p.tick()
	}
	return p
}

func (p *progress) hooks() deploy.Hooks {
	return deploy.Hooks{
		OpStart: func(i int, op *deploy.Operation, hosts int) {
			p.mu.Lock()
			p.op, p.index, p.done, p.hosts, p.opStart = op, i, 0, hosts, time.Now()
			p.drawLocked()
			p.mu.Unlock()
		},
		HostDone: func(op *deploy.Operation, host string, decl *deploy.Decl) {
			p.mu.Lock()
			p.done++
			p.clearLocked()
			if decl.Err != nil && decl.Status == deploy.Failed {
				p.a.out.HostError(host, decl.Err)
			}
			p.drawLocked()
			p.mu.Unlock()
		},
		OpDone: func(i int, op *deploy.Operation) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.clearLocked()
			counts := map[deploy.Status]int{}
			for _, d := range op.Hosts {
				counts[d.Status]++
			}
			var parts []string
			for _, s := range []deploy.Status{deploy.Changed, deploy.NoChange, deploy.Skipped, deploy.Failed, deploy.IgnoredError} {
				if counts[s] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
				}
			}
			color := colorGreen
			if counts[deploy.Failed] > 0 {
				color = colorRed
			}
			p.a.info(color, fmt.Sprintf("[%d/%d] %s: %s (%.1fs)", i+1, p.total, op.Name, strings.Join(parts, ", "), time.Since(p.opStart).Seconds()))
			p.op = nil
		},
	}
}

// log prints through the printer without tearing the live line.
func (p *progress) log(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	f()
	p.drawLocked()
}

func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			p.drawLocked()
			p.mu.Unlock()
		}
	}
}

func (p *progress) drawLocked() {
	if !p.live || p.op == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %s  hosts %d/%d  %s", p.index+1, p.total, p.op.Name, p.done, p.hosts,
		time.Since(p.start).Truncate(100*time.Millisecond))
	p.shown = true
}

func (p *progress) clearLocked() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
}
