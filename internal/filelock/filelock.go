// Package filelock takes an exclusive lock on an open file that other
// processes honour: flock on Unix, LockFileEx on Windows.
package filelock
