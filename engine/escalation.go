package engine

import "github.com/goinfra-dev/goinfra/connector/escalate"

// Escalation is the connector/escalate package's: these names stay for
// programs written against earlier versions of the engine.

// ErrSudoPassword marks a host stopped because sudo needed a password
// that was not given, or did not accept the one given.
//
// Deprecated: use escalate.ErrSudoPassword.
var ErrSudoPassword = escalate.ErrSudoPassword

// ErrNoPrompt is what a PasswordPrompt returns when it cannot ask.
//
// Deprecated: use escalate.ErrNoPrompt.
var ErrNoPrompt = escalate.ErrNoPrompt

// PasswordPrompt asks the user for the sudo password.
type PasswordPrompt = escalate.PasswordPrompt
