package files

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

var templateOp = operations.Op{
	Name:        "files.template",
	Description: "render a Jinja2 template and upload it (skipped when the remote checksum matches); other arguments are template variables",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "local template file (Jinja2)", LocalPath: true},
		{Name: "dest", Type: connector.String, Required: true, Description: "remote file"},
		argUser, argGroup, argMode, argCreateDir,
	},
	// Every other keyword argument is a template variable (pyinfra's
	// **data).
	ExtraArgs: true,
	Plan:      planTemplate,
}

// templateArgs are files.template's own arguments, not template variables.
var templateArgs = map[string]bool{"src": true, "dest": true, "user": true, "group": true, "mode": true, "create_remote_dir": true}

func planTemplate(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src := operations.LocalPath(h, args.String("src"))
	vars := map[string]any{}
	for k, v := range args {
		if !templateArgs[k] {
			vars[k] = v
		}
	}
	out, err := Render(src, h, vars)
	if err != nil {
		return nil, err
	}
	// Into an existing directory, the file keeps the template's name.
	return planUpload(ctx, h, memContent(src, out), filepath.Base(src), args)
}

// templateConfig is pyinfra's Jinja2 environment: a variable that is not
// defined is an error (StrictUndefined) and the template's last newline
// is kept.
func templateConfig() *config.Config {
	c := config.New()
	c.StrictUndefined = true
	c.KeepTrailingNewline = true
	return c
}

// Render renders the Jinja2 template file src for host h, as
// files.template does: the template sees host (host.name, host.data,
// host.groups) and vars. Includes and imports are relative to src's
// directory.
func Render(src string, h operations.Host, vars map[string]any) ([]byte, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", src, err)
	}
	loader, err := loaders.NewFileSystemLoader(filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", src, err)
	}
	tpl, err := exec.NewTemplate(filepath.Base(abs), templateConfig(), loader, gonja.DefaultEnvironment)
	if err != nil {
		// gonja quotes the whole template source around the parser's
		// error; the parser's own (with its line) is what helps.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("template %s: %w", src, err)
	}
	ctxData := map[string]any{}
	for k, v := range vars {
		ctxData[k] = v
	}
	if _, ok := ctxData["host"]; !ok {
		ctxData["host"] = hostVars(h)
	}
	out, err := tpl.ExecuteToBytes(exec.NewContext(ctxData))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", src, err)
	}
	return out, nil
}

// hostVars is what a template sees as host.
func hostVars(h operations.Host) map[string]any {
	data := map[string]any{}
	for k, v := range h.Data() {
		data[k] = v
	}
	groups := []any{}
	if g, ok := h.(operations.Grouper); ok {
		for _, n := range g.Groups() {
			groups = append(groups, n)
		}
	}
	return map[string]any{"name": h.Name(), "data": data, "groups": groups}
}
