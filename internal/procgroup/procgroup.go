// Package procgroup starts a command in a process group of its own and
// kills such groups, on Unix; elsewhere (Windows, which has no process
// groups of this kind) it affects the process alone.
package procgroup
