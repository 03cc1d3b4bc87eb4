// Package terraform is the inventory connector kind "terraform": the target
// "@terraform/<key>" names a list in the outputs of `terraform output -json`,
// and each item of that list becomes a host run over SSH.
//
// Nested objects are flattened with ".". Terraform wraps every output as
// {"value": …, "type": …, "sensitive": …}; both the full path through that
// wrapper ("out.value.hosts", as pyinfra requires) and the shorter one
// without it ("out.hosts") are accepted. A string item is an SSH host name;
// an object item is host data and needs "name" or "ssh_hostname" (the host
// is called by its name, else by its ssh_hostname; a name alone is also the
// address). As in pyinfra, hosts are named "@terraform/<name>" (a name may
// hold spaces); a name that is itself a target string ("@docker/web") is
// kept, so that its kind runs it.
//
// Expand sees only the target, so the program and its directory come from
// the environment (pyinfra always runs `terraform` in the current
// directory):
//
//	GOINFRA_TERRAFORM        the program to run (default "terraform"; e.g. "tofu")
//	GOINFRA_TERRAFORM_CHDIR  the directory it runs in (default: the current one)
//
// Terraform's own variables (TF_WORKSPACE, TF_DATA_DIR, ...) reach it
// unchanged. Targets expanded within ten seconds of each other share one
// run of terraform.
package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// ansi matches the colour codes terraform puts in its error messages.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// Environment variables that configure the connector.
const (
	EnvCommand = "GOINFRA_TERRAFORM"
	EnvChdir   = "GOINFRA_TERRAFORM_CHDIR"
)

// Driver is the terraform kind. Empty fields are read from the environment
// at each Expand.
type Driver struct {
	// Command is the terraform program (a name on PATH or a path).
	Command string
	// Dir is the directory terraform runs in.
	Dir string
}

func init() { connector.Register("terraform", &Driver{}) }

// Description implements connector.Describer.
func (*Driver) Description() string {
	return "inventory: hosts from a list in `terraform output -json` (run over ssh)"
}

// DataKeys implements connector.Driver: the kind reads no host data (its
// hosts are run by ssh, whose keys apply).
func (*Driver) DataKeys() []connector.DataKey { return nil }

func (d *Driver) program() string {
	for _, p := range []string{d.Command, os.Getenv(EnvCommand)} {
		if p != "" {
			return p
		}
	}
	return "terraform"
}

func (d *Driver) dir() string {
	if d.Dir != "" {
		return d.Dir
	}
	return os.Getenv(EnvChdir)
}

// Expand implements connector.Driver.
func (d *Driver) Expand(ctx context.Context, key string) ([]connector.Target, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, errors.New("@terraform needs the key of an output list: @terraform/<output>[.<key>...]")
	}
	outputs, err := d.output(ctx)
	if err != nil {
		return nil, err
	}
	if len(outputs) == 0 {
		where := "the current directory"
		if dir := d.dir(); dir != "" {
			where = dir
		}
		return nil, fmt.Errorf("%s output -json printed no outputs in %s: run goinfra where the terraform state is, or set %s to that directory", d.program(), where, EnvChdir)
	}
	flat, lists := flatten(outputs)
	value, ok := flat[key]
	if !ok {
		for k := range flat {
			if strings.HasPrefix(k, key+".") {
				return nil, fmt.Errorf("terraform output %q is an object, not a list; keys that name a list: %s", key, listKeys(lists))
			}
		}
		return nil, fmt.Errorf("no terraform output with key %q; keys that name a list: %s", key, listKeys(lists))
	}
	items, ok := value.([]any)
	if !ok {
		return nil, fmt.Errorf("terraform output %q is %s, not a list", key, jsonType(value))
	}
	targets := make([]connector.Target, 0, len(items))
	for i, item := range items {
		t, err := target(item)
		if err != nil {
			return nil, fmt.Errorf("terraform output %q, item %d: %w", key, i, err)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

func target(item any) (connector.Target, error) {
	switch v := item.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return connector.Target{}, errors.New("empty host name")
		}
		return connector.Target{Name: hostName(v), Data: map[string]any{"ssh_hostname": v}}, nil
	case map[string]any:
		data := make(map[string]any, len(v))
		for k, x := range v {
			data[k] = x
		}
		name, hasName := data["name"]
		delete(data, "name")
		if !hasName {
			name = data["ssh_hostname"]
		}
		if name == nil {
			return connector.Target{}, errors.New(`an object needs "name" or "ssh_hostname"`)
		}
		s, ok := name.(string)
		if !ok || strings.TrimSpace(s) == "" {
			which := "name"
			if !hasName {
				which = "ssh_hostname"
			}
			return connector.Target{}, fmt.Errorf("%q must be a non-empty string, given %s", which, jsonType(name))
		}
		// The host was reached at its name before names got their
		// "@terraform/" prefix: it still is.
		if _, ok := data["ssh_hostname"]; !ok && !strings.HasPrefix(s, "@") {
			data["ssh_hostname"] = s
		}
		return connector.Target{Name: hostName(s), Data: data}, nil
	}
	return connector.Target{}, fmt.Errorf("must be a host name (string) or host data (object), given %s", jsonType(item))
}

// hostName is the inventory name of a host called name.
func hostName(name string) string {
	if strings.HasPrefix(name, "@") {
		return name
	}
	return "@terraform/" + name
}

// outputTTL is how long an answer of terraform is reused: the targets of
// one inventory ("@terraform/web,@terraform/db") are expanded within
// moments of each other and need terraform to run once, not once each.
const outputTTL = 10 * time.Second

var outputCache struct {
	sync.Mutex
	key     string
	at      time.Time
	outputs map[string]any
}

// output runs `terraform output -json` and decodes it, or reuses the
// answer of a moment ago for the same program and directory.
func (d *Driver) output(ctx context.Context) (map[string]any, error) {
	wd, _ := os.Getwd()
	key := strings.Join([]string{d.program(), d.dir(), wd, os.Getenv("TF_WORKSPACE"), os.Getenv("TF_DATA_DIR")}, "\x00")
	outputCache.Lock()
	defer outputCache.Unlock()
	if outputCache.key == key && time.Since(outputCache.at) <= outputTTL {
		return outputCache.outputs, nil
	}
	outputs, err := d.runOutput(ctx)
	if err != nil {
		return nil, err
	}
	outputCache.key, outputCache.at, outputCache.outputs = key, time.Now(), outputs
	return outputs, nil
}

func (d *Driver) runOutput(ctx context.Context) (map[string]any, error) {
	prog := d.program()
	line := prog + " output -json"
	cmd := exec.CommandContext(ctx, prog, "output", "-json")
	if dir := d.dir(); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: %s is not a directory", EnvChdir, dir)
		}
		cmd.Dir = dir
		line = fmt.Sprintf("%s (in %s)", line, dir)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: install terraform, or set %s to the program to run (e.g. tofu)", prog, EnvCommand)
	}
	if err != nil {
		msg := strings.TrimSpace(ansi.ReplaceAllString(stderr.String(), ""))
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			msg = "(no output)"
		}
		return nil, fmt.Errorf("%s failed (%v): %s", line, err, msg)
	}
	var outputs map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &outputs); err != nil {
		return nil, fmt.Errorf("%s printed something that is not a JSON object: %v", line, err)
	}
	return outputs, nil
}

// flatten maps every dotted path to its value. Each output also appears
// without its "value" wrapper: {"out": {"value": {"hosts": [..]}}} gives
// both "out.value.hosts" and "out.hosts". lists are the keys of the second
// kind that name a list, sorted: the ones worth suggesting.
func flatten(outputs map[string]any) (flat map[string]any, lists []string) {
	flat = map[string]any{}
	var walk func(prefix string, v any, short bool)
	walk = func(prefix string, v any, short bool) {
		m, ok := v.(map[string]any)
		if !ok {
			flat[prefix] = v
			if _, isList := v.([]any); isList && short {
				lists = append(lists, prefix)
			}
			return
		}
		for k, x := range m {
			walk(prefix+"."+k, x, short)
		}
	}
	for name, out := range outputs {
		walk(name, out, false)
		if m, ok := out.(map[string]any); ok {
			if v, ok := m["value"]; ok {
				walk(name, v, true)
			}
		}
	}
	sort.Strings(lists)
	return flat, lists
}

func listKeys(lists []string) string {
	if len(lists) == 0 {
		return "none"
	}
	return strings.Join(lists, ", ")
}
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
