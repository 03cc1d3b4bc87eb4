package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

func init() {
	operations.Register(operations.Op{
		Name: "singletest.noop",
		Args: []operations.Arg{{Name: "path", Type: connector.String, Required: true}},
		Plan: func(context.Context, operations.Host, connector.Data) (*operations.Plan, error) {
			return &operations.Plan{}, nil
		},
	})
}

// An operation given on the command line takes its defaults from a
// config.star in the working directory, as pyinfra reads config.py.
func TestSingleReadsConfigInWorkingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.star"), []byte("SUDO = True\nPARALLEL = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	d, err := Single("singletest.noop", []string{"path=/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Config.File != "config.star" || d.Config.Args["_sudo"] != true || d.Config.Parallel != 3 {
		t.Errorf("config = %+v, want config.star with _sudo and PARALLEL 3", d.Config)
	}

	// A broken config.star is an error naming the file, before anything runs.
	if err := os.WriteFile(filepath.Join(dir, "config.star"), []byte("SUDOO = True\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Single("singletest.noop", []string{"path=/tmp/x"})
	if err == nil || !strings.Contains(err.Error(), "config.star") || !strings.Contains(err.Error(), "SUDOO") {
		t.Errorf("broken config.star: err = %v", err)
	}
}
