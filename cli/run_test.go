package cli_test

// In-process tests through cli.Run with several hosts: a test kind,
// "clifake", gives each host its own name and runs its commands through
// the real local connector; hosts whose name holds "down" cannot connect.

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/cli"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	// server.Kernel, for the fact verb.
	_ "github.com/goinfra-dev/goinfra/operations/server"
)

type clifake struct{}

func (clifake) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	var ts []connector.Target
	for _, n := range strings.Split(arg, "+") {
		ts = append(ts, connector.Target{Name: n, Data: map[string]any{}})
	}
	return ts, nil
}

func (clifake) DataKeys() []connector.DataKey {
	return []connector.DataKey{{Name: "clifake_secret", Type: connector.String, Secret: true, Description: "a secret"}}
}

func (clifake) Description() string { return "test hosts run through the local connector" }

func (clifake) Open(h *connector.Host) (connector.Conn, error) {
	d, _ := connector.Lookup(local.Kind)
	c, err := d.(connector.Opener).Open(&connector.Host{Name: h.Name, Data: connector.Data{}, Log: h.Log})
	if err != nil {
		return nil, err
	}
	return &downConn{Conn: c, name: h.Name}, nil
}

type downConn struct {
	connector.Conn
	name string
}

func (c *downConn) Connect(ctx context.Context) error {
	if strings.Contains(c.name, "down") {
		return connector.Errorf(c.name, connector.ErrConnect, "connection refused")
	}
	return c.Conn.Connect(ctx)
}

func init() { connector.Register("clifake", clifake{}) }

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return l
}

func TestRunManyHosts(t *testing.T) {
	out, errs, code := runCLI("@clifake/web1+web2+web3", "exec", "--", "sh", "-c", "echo hello; echo oops >&2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := strings.Join(sortedLines(out), "|"); got != "[web1] hello|[web2] hello|[web3] hello" {
		t.Errorf("stdout %q", out)
	}
	for _, h := range []string{"web1", "web2", "web3"} {
		if !strings.Contains(errs, "["+h+"] oops\n") {
			t.Errorf("stderr lacks %s: %q", h, errs)
		}
	}
}

func TestRunConnectFailure(t *testing.T) {
	out, errs, code := runCLI("--json", "@clifake/up1+down1", "exec", "--", "echo", "hi")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	recs := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON Lines: %q", out)
		}
		recs[r["host"].(string)] = r
	}
	if r := recs["down1"]; r == nil || r["success"] != false || r["exit_code"] != nil || !strings.Contains(r["error"].(string), "connection refused") {
		t.Errorf("down host record: %v", r)
	}
	if r := recs["up1"]; r == nil || r["success"] != true || r["exit_code"] != 0.0 || r["stdout"] != "hi" {
		t.Errorf("up host record: %v", r)
	}
	if !strings.Contains(errs, "1 of 2 hosts failed: down1") {
		t.Errorf("summary: %q", errs)
	}
}

// --fail-percent stops the run before the next step: the command never
// runs when too many hosts failed to connect.
func TestRunFailPercent(t *testing.T) {
	out, errs, code := runCLI("--fail-percent", "10", "@clifake/a1+a2+down2", "exec", "--", "echo", "ran")
	if code != 1 || strings.Contains(out, "ran") || !strings.Contains(errs, "run stopped") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	out, _, code = runCLI("--json", "--fail-percent", "10", "@clifake/c1+down5", "exec", "--", "echo", "ran")
	if code != 1 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"host":"c1","success":false,"exit_code":null`) || !strings.Contains(out, "not run: too many hosts failed") {
		t.Errorf("--json, stopped: exit %d, stdout %q", code, out)
	}
	out, _, code = runCLI("--fail-percent", "50", "@clifake/b1+b2+down3", "exec", "--", "echo", "ran")
	if code != 1 || strings.Count(out, "ran") != 2 {
		t.Errorf("within the limit: exit %d, stdout %q", code, out)
	}
}

func TestRunLimit(t *testing.T) {
	out, errs, code := runCLI("--limit", "w*", "@clifake/w1+w2+x1", "exec", "--", "echo", "hi")
	if code != 0 || strings.Join(sortedLines(out), "|") != "[w1] hi|[w2] hi" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestRunFactManyHosts(t *testing.T) {
	out, errs, code := runCLI("@clifake/f1+f2+down4", "fact", "server.Kernel")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a host is down)", code)
	}
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if v["f1"]["server.Kernel"] != "Linux" || v["f2"]["server.Kernel"] != "Linux" || len(v) != 3 {
		t.Errorf("fact: %v (stderr %q)", v, errs)
	}
	// The host that is down: an error, no fact, never null.
	if _, has := v["down4"]["server.Kernel"]; has || v["down4"]["error"] == nil || v["f1"]["error"] != nil {
		t.Errorf("down host: %v (stderr %q)", v, errs)
	}
}

func TestRunDebugInventoryMasksSecrets(t *testing.T) {
	out, _, code := runCLI("--data", "clifake_secret=hunter2-x", "--data", "db_password=pw-y", "@clifake/s1", "debug-inventory")
	if code != 0 || strings.Contains(out, "hunter2-x") || strings.Contains(out, "pw-y") || !strings.Contains(out, "clifake_secret") {
		t.Errorf("exit %d: %q", code, out)
	}
	out, _, code = runCLI("--json", "--data", "clifake_secret=hunter2-x", "@clifake/s1", "debug-inventory")
	if code != 0 || strings.Contains(out, "hunter2-x") || !json.Valid([]byte(out)) || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, `{"host":"s1",`) {
		t.Errorf("--json: exit %d: %q", code, out)
	}
}

func TestRunConnectorsShowsKinds(t *testing.T) {
	out, _, code := runCLI("connectors", "--markdown")
	if code != 0 || !strings.Contains(out, "### clifake") || !strings.Contains(out, "| `clifake_secret` | string | `-` | a secret |") {
		t.Errorf("exit %d: %q", code, out)
	}
}

// -vv echoes each command (masked) before it runs.
func TestRunEchoCommands(t *testing.T) {
	_, errs, code := runCLI("-vv", "--remote-chdir", "/tmp", "@clifake/e1", "exec", "--", "true")
	if code != 0 || !strings.Contains(errs, "[e1] >>> sh -c 'cd /tmp && true'") {
		t.Errorf("exit %d: %q", code, errs)
	}
}

// --data _retries=N retries a failed command.
func TestRunRetries(t *testing.T) {
	dir := t.TempDir()
	// Fails twice, then succeeds: a counter file in dir.
	script := `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo try $n; [ $n -ge 3 ]`
	out, errs, code := runCLI("--remote-chdir", dir, "--data", "_retries=2", "--data", "_retry_delay=0.01", "@clifake/r1", "exec", "--", script)
	if code != 0 || out != "[r1] try 1\n[r1] try 2\n[r1] try 3\n" || !strings.Contains(errs, "retrying (2 of 2)") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
