package cloudinventory_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var goinfraCloud string // the custom binary: goinfra + @cloud

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goinfra-cloud")
	if err != nil {
		panic(err)
	}
	goinfraCloud = filepath.Join(dir, "goinfra-cloud")
	out, err := exec.Command("go", "build", "-o", goinfraCloud, "./cmd/goinfra-cloud").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// api serves a cloud API answer on loopback.
func api(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/instances" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/instances"
}

func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(goinfraCloud, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

const localInstance = `{"id": "i-01", "target": "@local", "region": "eu-1", "tags": ["web"], "data": {"role": "api", "_env": {"ROLE": "api"}}}`

// sshInstance is a name the ssh kind runs; it is only served when this
// goinfra has ssh built in (names an inventory kind yields must resolve).
const sshInstance = `{"id": "i-02", "target": "db1.internal", "region": "eu-2", "tags": ["db"]}`

func TestCloudInventoryThroughBinary(t *testing.T) {
	list, _, _ := run(t, nil, "connectors", "--json")
	withSSH := strings.Contains(list, `"kind":"ssh"`)
	body := `{"instances": [` + localInstance + `]}`
	if withSSH {
		body = `{"instances": [` + localInstance + "," + sshInstance + `]}`
	} else {
		t.Log("no ssh kind in this goinfra: the API serves only the @local instance")
	}
	url := api(t, 200, body)

	// The instance whose target is "@local" is run by the local kind (one
	// level deep), with the data the API gave it; --limit keeps the ssh
	// host out of the run.
	out, errOut, code := run(t, nil, "--limit", "web", "@cloud/"+url, "exec", "--", `echo "$ROLE in $(hostname)"`)
	host, _ := os.Hostname()
	if code != 0 || out != fmt.Sprintf("[@local] api in %s\n", host) {
		t.Fatalf("exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}

	// Hosts, groups and the data the connector set, as the inventory sees them.
	out, errOut, code = run(t, nil, "--json", "@cloud/"+url, "debug-inventory")
	wants := []string{`"@local"`, `"cloud_id":"i-01"`, `"cloud_region":"eu-1"`, `"web"`, `"cloud"`}
	if withSSH {
		wants = append(wants, `"db1.internal"`, `"cloud_region":"eu-2"`, `"db"`)
	}
	for _, want := range wants {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), want) {
			t.Errorf("debug-inventory lacks %s:\n%s\n%s", want, out, errOut)
		}
	}
	if code != 0 {
		t.Fatalf("debug-inventory: exit %d: %s", code, errOut)
	}

	// A tag with the address from the environment.
	out, errOut, code = run(t, []string{"GOINFRA_CLOUD_URL=" + url}, "@cloud/web", "exec", "--", "echo tagged")
	if code != 0 || out != "[@local] tagged\n" {
		t.Fatalf("tag: exit %d %q %s", code, out, errOut)
	}

	// The kind is listed with its data table.
	out, _, _ = run(t, nil, "connectors", "--markdown")
	if !strings.Contains(out, "### cloud") || !strings.Contains(out, "Inventory only") || !strings.Contains(out, "| `cloud_region` | string |") {
		t.Fatalf("connectors --markdown:\n%s", out)
	}
}

func TestCloudInventoryErrors(t *testing.T) {
	for _, c := range []struct {
		name, url, want string
		env             []string
	}{
		{"server error", api(t, 500, `{"error":"quota"}`), `500 Internal Server Error: {"error":"quota"}`, nil},
		{"not JSON", api(t, 200, `<html>`), "the answer is not JSON", nil},
		{"no target", api(t, 200, `{"instances":[{"id":"i-9"}]}`), `instance 0 (id "i-9") has no target`, nil},
		{"no address", "web", "no API address: give @cloud/URL or set GOINFRA_CLOUD_URL", []string{"GOINFRA_CLOUD_URL="}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := run(t, c.env, "@cloud/"+c.url, "exec", "--", "true")
			if code != 2 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "@cloud") {
				t.Fatalf("exit %d, want 2 and %q:\n%s", code, c.want, errOut)
			}
		})
	}
}

// An instance whose target is a kind only an external program provides:
// the binary registers the programs when the inventory meets the kind.
func TestCloudYieldsExternalKind(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
while read -r line; do
  case "$line" in
    *'"type":"hello"'*) echo '{"type":"hello","protocol":1,"executes":true}' ;;
    *'"type":"expand"'*) echo '{"type":"targets","targets":[{"name":"@echoer/box"}]}' ;;
    *'"type":"connect"'*) echo '{"type":"ok"}' ;;
    *'"type":"run"'*) echo '{"type":"line","stream":"stdout","text":"echoed"}'; echo '{"type":"exit","code":0}' ;;
    *'"type":"disconnect"'*) echo '{"type":"ok"}'; exit 0 ;;
  esac
done
`
	if err := os.WriteFile(filepath.Join(dir, "goinfra-connector-echoer"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	url := api(t, 200, `{"instances":[{"id":"i-7","target":"@echoer/box","tags":["box"]}]}`)
	out, errOut, code := run(t, []string{"GOINFRA_CONNECTOR_PATH=" + dir}, "@cloud/"+url, "exec", "--", "anything")
	if code != 0 || out != "[@echoer/box] echoed\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}
}
