// Package cloudinventory is an example inventory connector written in Go:
// "@cloud/URL" reads the hosts of a (made-up) cloud API that serves JSON
// over HTTP, so that an inventory follows the instances that exist now.
//
// It only expands names; it does not execute. Each instance's "target" is
// the name goinfra connects to: a host name or address (run by ssh), or a
// target string of an executing kind such as "@local" or "@docker/web",
// which that kind then resolves (one level deep). Importing the package
// registers the kind, in the manner of a database/sql driver:
//
//	import _ "github.com/goinfra-dev/goinfra/examples/cloudinventory"
package cloudinventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Kind is the name the connector registers under.
const Kind = "cloud"

// URLEnv is read for the API address when the target names none ("@cloud"
// or "@cloud/TAG").
const URLEnv = "GOINFRA_CLOUD_URL"

func init() { connector.Register(Kind, &Driver{}) }

// Driver reads instances from the API.
type Driver struct {
	// Client is used for requests (default: one with a 30 s timeout).
	Client *http.Client
}

// Instance is one entry of the API's answer.
type Instance struct {
	ID     string         `json:"id"`
	Target string         `json:"target"`
	Region string         `json:"region"`
	Tags   []string       `json:"tags"`
	Data   map[string]any `json:"data"`
}

// Response is the API's answer: {"instances": [...]}.
type Response struct {
	Instances []Instance `json:"instances"`
}

// DataKeys are the keys the kind sets on the hosts it yields.
func (*Driver) DataKeys() []connector.DataKey {
	return []connector.DataKey{
		{Name: "cloud_id", Type: connector.String, Description: "the instance's ID in the cloud (set by @cloud)"},
		{Name: "cloud_region", Type: connector.String, Description: "the region the instance runs in (set by @cloud)"},
	}
}

// Description for `goinfra connectors`.
func (*Driver) Description() string {
	return "hosts from a cloud API that serves JSON over HTTP (@cloud/URL, or @cloud/TAG with " + URLEnv + ")"
}

// Expand fetches the instances. arg is the API URL, or a tag that selects
// instances of the API named by GOINFRA_CLOUD_URL, or empty for all of them.
func (d *Driver) Expand(ctx context.Context, arg string) ([]connector.Target, error) {
	url, tag := arg, ""
	if !strings.Contains(arg, "://") {
		url, tag = os.Getenv(URLEnv), arg
		if url == "" {
			return nil, fmt.Errorf("@cloud: no API address: give @cloud/URL or set %s", URLEnv)
		}
	}
	resp, err := d.fetch(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("@cloud: %w", err)
	}
	var out []connector.Target
	for i, in := range resp.Instances {
		if in.Target == "" {
			return nil, fmt.Errorf("@cloud: %s: instance %d (id %q) has no target", url, i, in.ID)
		}
		if tag != "" && !contains(in.Tags, tag) {
			continue
		}
		data := map[string]any{}
		for k, v := range in.Data {
			data[k] = v
		}
		if in.ID != "" {
			data["cloud_id"] = in.ID
		}
		if in.Region != "" {
			data["cloud_region"] = in.Region
		}
		groups := append([]string{"cloud"}, in.Tags...)
		out = append(out, connector.Target{Name: in.Target, Data: data, Groups: groups})
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func (d *Driver) fetch(ctx context.Context, url string) (*Response, error) {
	client := d.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return nil, fmt.Errorf("GET %s: %s: %s", url, res.Status, strings.TrimSpace(string(body)))
	}
	var r Response
	dec := json.NewDecoder(io.LimitReader(res.Body, 32<<20))
	if err := dec.Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: the answer is not JSON: %w", url, err)
		}
		return nil, fmt.Errorf("%s: unexpected answer: %w", url, err)
	}
	return &r, nil
}
