package apk_test

import (
	"context"
	"testing"

	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/optest"
)

// TestPackagesOnMock plans and applies apk.packages with no Alpine host
// (Debian's mirror has no apk-tools to install here): apk.ApkPackages
// runs its real command against a conntest.MockConn answering with apk
// list's lines, as apk-tools 2 prints them. Only the missing package is
// added; once apk lists it, nothing is.
func TestPackagesOnMock(t *testing.T) {
	ctx := context.Background()
	list := conntest.Regexp(`^! command -v apk >/dev/null 2>&1 \|\| \( apk list --installed \)$`)
	host := func(listed string) (*optest.Host, *conntest.MockConn) {
		m := &conntest.MockConn{Host: "alpine1", T: t}
		m.On(list, conntest.Response{Stdout: listed})
		m.On(conntest.Prefix("apk add "), conntest.Response{Stdout: "OK: 9 MiB in 20 packages\n"})
		if err := m.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		return &optest.Host{HostName: "alpine1", Conn: m}, m
	}
	before := "musl-1.2.4-r2 x86_64 {musl} (MIT) [installed]\ncurl-8.5.0-r0 x86_64 {curl} (curl) [installed]\n"
	h, m := host(before)
	args := map[string]any{"packages": []any{"curl", "jq"}}
	optest.Apply(t, h, optest.Plan(t, h, "apk.packages", args))
	if cmds := m.Commands(); len(cmds) != 2 || cmds[1] != "apk add jq" {
		t.Errorf("commands %q, want the fact's and apk add jq", cmds)
	}
	h, _ = host(before + "jq-1.7.1-r0 x86_64 {jq} (MIT) [installed]\n")
	optest.NoChange(t, h, "apk.packages", args)
}
