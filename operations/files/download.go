package files

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

var downloadOp = operations.Op{
	Name:        "files.download",
	Description: "download a URL to a remote file with curl or wget on the host (skipped when the file is there and its checksum matches)",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "the URL"},
		{Name: "dest", Type: connector.String, Required: true, Description: "remote file"},
		argUser, argGroup, argMode,
		{Name: "cache_time", Type: connector.Int, Description: "download again when the file is older than this many seconds"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "download even when the file is there"},
		{Name: "sha256sum", Type: connector.String, Description: "the file's SHA-256 (hex): checked before the download replaces dest; a file that differs is downloaded again"},
		{Name: "sha1sum", Type: connector.String, Description: "the file's SHA-1, as sha256sum"},
		{Name: "md5sum", Type: connector.String, Description: "the file's MD5, as sha256sum"},
		{Name: "headers", Type: connector.Map, Description: "HTTP headers {name: value}, given to curl on its standard input (never on a command line); wget is not used with headers"},
		{Name: "insecure", Type: connector.Bool, Default: false, Description: "do not verify the server's TLS certificate"},
		{Name: "proxy", Type: connector.String, Description: "HTTP proxy, http://HOST:PORT"},
		{Name: "extra_curl_args", Type: connector.Map, Description: "more curl options {option: value} (\"\" for an option without value)"},
		{Name: "extra_wget_args", Type: connector.Map, Description: "more wget options {option: value} (\"\" for an option without value)"},
	},
	Plan: planDownload,
}

// The checksums files.download verifies: argument, name in messages, the
// fact and the tools that print it (tried in order).
var checksums = []struct {
	arg, name string
	fact      facts.Typed[string, string]
	digits    int
	tools     [][]string
}{
	{"sha256sum", "SHA-256", Sha256File, 64, [][]string{{"sha256sum"}, {"shasum", "-a", "256"}, {"sha256", "-q"}}},
	{"sha1sum", "SHA-1", Sha1File, 40, [][]string{{"sha1sum"}, {"shasum"}, {"sha1", "-q"}}},
	{"md5sum", "MD5", Md5File, 32, [][]string{{"md5sum"}, {"md5", "-q"}}},
}

func planDownload(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src, dest := args.String("src"), args.String("dest")
	if err := remotePath("dest", dest); err != nil {
		return nil, err
	}
	if src == "" {
		return nil, fmt.Errorf("src is empty")
	}
	a, err := attrsOf(args)
	if err != nil {
		return nil, err
	}
	for _, c := range checksums {
		if s := args.String(c.arg); s != "" && !regexp.MustCompile(fmt.Sprintf(`^[0-9a-fA-F]{%d}$`, c.digits)).MatchString(s) {
			return nil, fmt.Errorf("%s: %q is not a %s in hex (%d digits)", c.arg, s, c.name, c.digits)
		}
	}
	reg, err := File.Get(ctx, h, dest)
	if err != nil {
		return nil, err
	}
	if reg != nil && reg.NotFile {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file", dest, reg.Type)
	}
	download := reg == nil || args.Bool("force")
	if !download {
		if n := args.Int("cache_time"); n > 0 {
			v, err := h.Fact(ctx, "server.Date", nil)
			if err != nil {
				return nil, fmt.Errorf("cache_time needs the host's clock: %w", err)
			}
			now, ok := v.(time.Time)
			if !ok {
				return nil, fmt.Errorf("cache_time: server.Date gave %T", v)
			}
			download = reg.MTime.Before(now.Add(-time.Duration(n) * time.Second))
		}
	}
	for _, c := range checksums {
		want := args.String(c.arg)
		if download || want == "" {
			continue
		}
		got, err := c.fact.Get(ctx, h, dest)
		if err != nil {
			return nil, err
		}
		download = !strings.EqualFold(got, want)
	}
	plan := &operations.Plan{}
	var info *FileInfo
	if download {
		plan.Steps = append(plan.Steps, downloadStep(src, dest, args))
	} else {
		// The file is kept: its owner and mode are still made right.
		info = &reg.FileInfo
	}
	plan.Steps = append(plan.Steps, attrSteps(dest, info, a, false, false, false)...)
	return plan, nil
}

// downloadStep fetches src into a file beside dest, verifies the
// checksums given, and only then moves it over dest. curl or wget is
// chosen on the host when the step runs.
func downloadStep(src, dest string, args connector.Data) *operations.Command {
	tmp := command.Quoted(dest + ".goinfra-download")
	q := command.Quoted(dest)
	headers := args.Map("headers")

	curl := []any{"curl", "-sSLf"}
	if p := args.String("proxy"); p != "" {
		curl = append(curl, "--proxy", command.Quoted(p))
	}
	if args.Bool("insecure") {
		curl = append(curl, "--insecure")
	}
	if len(headers) > 0 {
		curl = append(curl, "--config", "-")
	}
	curl = append(append(curl, options(args.Map("extra_curl_args"))...), command.Quoted(src), "-o", tmp)

	var wget []any
	switch {
	case len(headers) > 0:
		wget = []any{"echo", command.Quoted("files.download: headers need curl on the host (wget takes them only on its command line)"), ">&2", ";", "false"}
	default:
		// The proxy as wget's environment: GNU's and busybox's read it.
		if p := args.String("proxy"); p != "" {
			wget = append(wget, "http_proxy="+command.Quote(p), "https_proxy="+command.Quote(p))
		}
		wget = append(wget, "wget", "-q")
		if args.Bool("insecure") {
			wget = append(wget, "--no-check-certificate")
		}
		wget = append(append(wget, options(args.Map("extra_wget_args"))...), command.Quoted(src), "-O", tmp)
	}

	parts := []any{"if", "command", "-v", "curl", ">/dev/null", "2>&1", ";", "then", command.New(curl...), ";",
		"elif", "command", "-v", "wget", ">/dev/null", "2>&1", ";", "then", command.New(wget...), ";",
		"else", "echo", command.Quoted("files.download: neither curl nor wget on the host"), ">&2", ";", "false", ";", "fi",
		"||", "{", "rm", "-f", tmp, ";", "exit", "1", ";", "}"}
	for _, c := range checksums {
		want := strings.ToLower(args.String(c.arg))
		if want == "" {
			continue
		}
		// The first tool the host has prints the sum; grep finds it.
		sum := []any{"{"}
		for i, t := range c.tools {
			kw := "elif"
			if i == 0 {
				kw = "if"
			}
			if i == len(c.tools)-1 {
				sum = append(sum, "else")
			} else {
				sum = append(sum, kw, "command", "-v", t[0], ">/dev/null", "2>&1", ";", "then")
			}
			for _, w := range t {
				sum = append(sum, w)
			}
			sum = append(sum, tmp, ";")
		}
		sum = append(sum, "fi", ";", "}")
		parts = append(parts, "&&", "{", command.New(sum...), "|", "grep", "-qi", command.Quoted(want), "||", "{",
			"echo", command.Quoted(fmt.Sprintf("files.download: the %s of %s is not %s", c.name, src, want)), ">&2", ";",
			"rm", "-f", tmp, ";", "exit", "1", ";", "}", ";", "}")
	}
	parts = append(parts, "&&", "mv", tmp, q)
	step := &operations.Command{Cmd: command.New(parts...)}
	if len(headers) > 0 {
		var b strings.Builder
		keys := make([]string, 0, len(headers))
		for k := range headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "header = %s\n", curlString(k+": "+fmt.Sprint(headers[k])))
		}
		cfg := b.String()
		step.Stdin = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(cfg)), nil }
	}
	return step
}

// options are extra curl or wget options, sorted: --opt 'value', or
// --opt alone for "".
func options(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []any
	for _, k := range keys {
		out = append(out, command.Quoted(k))
		if v := fmt.Sprint(m[k]); m[k] != nil && v != "" {
			out = append(out, command.Quoted(v))
		}
	}
	return out
}

// curlString is s as a quoted string of a curl config file.
func curlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
