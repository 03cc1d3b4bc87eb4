package filelock

import (
	"os"

	"golang.org/x/sys/windows"
)

// Lock blocks until it holds an exclusive lock on f and returns the
// function that releases it.
func Lock(f *os.File) (unlock func(), err error) {
	h := windows.Handle(f.Fd())
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		return nil, err
	}
	return func() { windows.UnlockFileEx(h, 0, 1, 0, ol) }, nil //nolint:errcheck
}
