//go:build unix

package filelock

import (
	"os"
	"syscall"
)

// Lock blocks until it holds an exclusive lock on f and returns the
// function that releases it.
func Lock(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil //nolint:errcheck
}
