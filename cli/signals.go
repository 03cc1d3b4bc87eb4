package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Every way a run can be ended from outside stops what it started: SIGINT
// (Ctrl-C), SIGTERM (a service manager, kill) and SIGHUP (the terminal was
// closed, an SSH session to the controller dropped) cancel the run's
// context, which stops the commands running on every host and disconnects
// them. Without this SIGHUP would kill goinfra at once and leave every
// remote command running.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// stopGrace bounds the wait after a second signal: the stop of the first
// one (a TERM to every remote command's process group, sent over each
// host's connection) normally takes a fraction of a second; a host that
// no longer answers must not hold the user up longer than this.
const stopGrace = time.Second

// signalError is the cause of a run ended by a signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string {
	switch e.sig {
	case syscall.SIGINT:
		return "interrupted"
	case syscall.SIGHUP:
		return "hung up (SIGHUP)"
	case syscall.SIGTERM:
		return "terminated (SIGTERM)"
	}
	return fmt.Sprintf("stopped by signal %d", int(e.sig))
}

func (e *signalError) Is(target error) bool { return target == errInterrupted }

// status is the shell's convention for a process ended by a signal.
func (e *signalError) status() int { return 128 + int(e.sig) }

// runWithSignals runs goinfra until it ends or a signal ends it. The first
// signal cancels the run, which then stops and disconnects cleanly however
// long that takes; a second one gives the stop under way at most
// stopGrace to finish before goinfra exits; a third exits at once.
func runWithSignals(args []string, stdio IO) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, len(stopSignals)+1)
	for _, s := range stopSignals {
		// A signal ignored from the start stays ignored: `nohup goinfra`
		// must survive the hangup it asked to survive, and a background
		// job of a script does not take the script's Ctrl-C.
		if !signal.Ignored(s) {
			signal.Notify(sigs, s)
		}
	}
	defer signal.Stop(sigs)
	done := make(chan int, 1)
	go func() { done <- Run(ctx, args, stdio) }()
	var first *signalError
	var grace <-chan time.Time
	for {
		select {
		case code := <-done:
			if first != nil && code == ExitInterrupted {
				return first.status()
			}
			return code
		case s := <-sigs:
			sig, _ := s.(syscall.Signal)
			switch {
			case first == nil:
				first = &signalError{sig: sig}
				// After a hangup stderr may be gone; the write then fails
				// and nothing else depends on it.
				fmt.Fprintf(stdio.Stderr, "goinfra: %s: stopping running commands and disconnecting (again to exit within %s)\n", first, stopGrace)
				cancel(first)
			case grace == nil:
				fmt.Fprintf(stdio.Stderr, "goinfra: %s again: exiting once the stop is sent, within %s\n", &signalError{sig: sig}, stopGrace)
				grace = time.After(stopGrace)
			default:
				return first.status()
			}
		case <-grace:
			return first.status()
		}
	}
}
