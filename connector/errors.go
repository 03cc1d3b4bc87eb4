package connector

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, one per failure class, for errors.Is. Every connector
// reports failures through these (never a bare false): a connector returns
// an *Error (or a *CommandError / *TimeoutError) that matches one of them.
var (
	// ErrConnect: the host could not be reached or set up.
	ErrConnect = errors.New("connect failed")
	// ErrAuth: the host refused the credentials. It also matches ErrConnect.
	ErrAuth = errors.New("authentication failed")
	// ErrHostKey: the host key is unknown or changed. It also matches ErrConnect.
	ErrHostKey = errors.New("host key verification failed")
	// ErrTimeout: a command or connection ran past its limit.
	ErrTimeout = errors.New("timed out")
	// ErrTransfer: a file upload or download failed.
	ErrTransfer = errors.New("file transfer failed")
	// ErrCommand: a command ended with an exit code not in the allowed set.
	ErrCommand = errors.New("command failed")
	// ErrNotConnected: an operation was attempted before Connect.
	ErrNotConnected = errors.New("not connected")
	// ErrUnsupported: the connector kind cannot do this (e.g. an inventory-only kind asked to run a command).
	ErrUnsupported = errors.New("not supported by this connector")
)

// Error is a failure on one host. Class is one of the sentinel errors above;
// errors.Is matches it, and Unwrap exposes the cause.
type Error struct {
	Host  string
	Class error
	Err   error
}

// Errorf builds an *Error for host of the given class; the message is
// formatted like fmt.Errorf, so %w wraps a cause.
func Errorf(host string, class error, format string, args ...any) *Error {
	return &Error{Host: host, Class: class, Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	msg := e.Class.Error()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Host == "" {
		return msg
	}
	return e.Host + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the error's class; auth and host key failures are also
// connect failures.
func (e *Error) Is(target error) bool {
	if target == e.Class {
		return true
	}
	return target == ErrConnect && (e.Class == ErrAuth || e.Class == ErrHostKey)
}

// CommandError is a command that ran and ended with a disallowed exit code.
type CommandError struct {
	Host     string
	ExitCode int
	// Command is the masked command text (never the raw one).
	Command string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: command failed with exit code %d", e.Host, e.ExitCode)
}

func (e *CommandError) Is(target error) bool { return target == ErrCommand }

// TimeoutError is a command stopped because it ran past its limit.
type TimeoutError struct {
	Host  string
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: command timed out after %s (stopped)", e.Host, e.Limit)
}

func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }
