// Package termecho switches a terminal's echo off on every operating system
// goinfra's controller runs on: termios on Linux and the BSDs (macOS
// included), the console mode on Windows. It exists because the ioctl
// request numbers differ between them (TCGETS on Linux, TIOCGETA on the
// BSDs) and golang.org/x/term offers raw mode and password reading, but
// not "line mode without echo" with a restore the caller controls (a
// prompt that an interrupt must be able to abandon).
package termecho

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrUnsupported is returned on an operating system without terminal
// support here.
var ErrUnsupported = fmt.Errorf("terminal echo control on %s: %w", runtime.GOOS, errors.ErrUnsupported)
