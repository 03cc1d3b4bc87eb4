//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows)

package termecho

// Quiet is not available on this operating system.
func Quiet(int) (restore func() error, err error) { return nil, ErrUnsupported }

// Disable is not available on this operating system.
func Disable(int) error { return ErrUnsupported }

// Echoes is not available on this operating system.
func Echoes(int) (bool, error) { return false, ErrUnsupported }
