package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/connector/escalate"
)

// Secrets given to goinfra through its environment (GOINFRA_SUDO_PASSWORD,
// GOINFRA_SSH_PASSWORD, ...) are taken out of the process environment as
// soon as a run starts, so that no command goinfra starts (the local
// connector's shell, ssh's ProxyCommand, docker, an external connector)
// inherits them.
var (
	secretsMu  sync.Mutex
	secretsEnv = map[string]string{}
)

// secretEnvName reports whether name is one of goinfra's secret variables.
func secretEnvName(name string) bool {
	if !strings.HasPrefix(name, "GOINFRA_") {
		return false
	}
	for _, s := range []string{"PASSWORD", "PASSPHRASE", "SECRET", "TOKEN"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// takeSecrets moves goinfra's secret variables from the process
// environment into memory and returns a Getenv that sees them there.
func takeSecrets() func(string) string {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, kv := range os.Environ() {
		name, v, _ := strings.Cut(kv, "=")
		if secretEnvName(name) {
			secretsEnv[name] = v
			os.Unsetenv(name)
		}
	}
	return func(name string) string {
		if secretEnvName(name) {
			secretsMu.Lock()
			defer secretsMu.Unlock()
			return secretsEnv[name]
		}
		return os.Getenv(name)
	}
}

// sudoPrompt asks for the sudo password when a host's sudo wants one
// (engine.Config.SudoPasswordPrompt). It asks on the controlling terminal
// only: standard input may be the command's data, and without a terminal
// the host fails with a message saying how to give the password.
func (a *app) sudoPrompt(ctx context.Context, host string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", escalate.ErrNoPrompt
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", escalate.ErrNoPrompt
	}
	label := "sudo password (for all hosts): "
	if host != "" {
		label = fmt.Sprintf("sudo password for %s: ", host)
	}
	pw, err := readSecret(ctx, tty, label)
	var ee *exitError
	if errors.As(err, &ee) {
		return "", ctx.Err()
	}
	return pw, err
}
