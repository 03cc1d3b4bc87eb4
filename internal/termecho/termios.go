//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package termecho

import "golang.org/x/sys/unix"

// Quiet puts the terminal fd in line mode (canonical input, signals,
// CR read as NL) without echo, as for reading a password, and returns the
// function that restores the previous settings.
func Quiet(fd int) (restore func() error, err error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return nil, err
	}
	return func() error { return unix.IoctlSetTermios(fd, ioctlSetTermios, old) }, nil
}

// Disable turns echo off on the terminal fd and changes nothing else
// (a pseudo-terminal whose input must not come back as its output).
func Disable(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Lflag &^= unix.ECHO
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

// Echoes reports whether the terminal fd echoes its input.
func Echoes(fd int) (bool, error) {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return false, err
	}
	return t.Lflag&unix.ECHO != 0, nil
}
