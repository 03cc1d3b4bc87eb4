package termecho

import "golang.org/x/sys/windows"

// Quiet puts the console fd (a handle, as os.File.Fd gives it) in line
// mode without echo and returns the function that restores its mode.
func Quiet(fd int) (restore func() error, err error) {
	h := windows.Handle(fd)
	var old uint32
	if err := windows.GetConsoleMode(h, &old); err != nil {
		return nil, err
	}
	quiet := old&^windows.ENABLE_ECHO_INPUT | windows.ENABLE_LINE_INPUT | windows.ENABLE_PROCESSED_INPUT
	if err := windows.SetConsoleMode(h, quiet); err != nil {
		return nil, err
	}
	return func() error { return windows.SetConsoleMode(h, old) }, nil
}

// Disable turns echo off on the console fd and changes nothing else.
func Disable(fd int) error {
	h := windows.Handle(fd)
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return err
	}
	return windows.SetConsoleMode(h, mode&^windows.ENABLE_ECHO_INPUT)
}

// Echoes reports whether the console fd echoes its input.
func Echoes(fd int) (bool, error) {
	var mode uint32
	if err := windows.GetConsoleMode(windows.Handle(fd), &mode); err != nil {
		return false, err
	}
	return mode&windows.ENABLE_ECHO_INPUT != 0, nil
}
