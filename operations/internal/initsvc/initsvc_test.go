package initsvc_test

import (
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
)

func TestReadRefuses(t *testing.T) {
	for _, c := range []struct {
		args connector.Data
		want string
	}{
		{connector.Data{"service": "../../bin/sh"}, `service: "../../bin/sh" is not a valid service name`},
		{connector.Data{"service": "-f"}, `service: "-f" is not a valid service name`},
		{connector.Data{"service": ".."}, `service: ".." is not a valid service name`},
		{connector.Data{"service": "a b"}, `service: "a b" is not a valid service name`},
		{connector.Data{"service": ""}, `service: "" is not a valid service name`},
		{connector.Data{"service": "nginx", "running": "yes"}, "running: expected bool or None, given string"},
		{connector.Data{"service": "nginx", "enabled": 1}, "enabled: expected bool or None, given int"},
		{connector.Data{"service": "nginx", "command": []any{"x"}}, "command: expected string or None, given list"},
	} {
		_, err := initsvc.Read(c.args)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := initsvc.Read(connector.Data{"service": "php8.2-fpm@x:1_a+b"}); err != nil {
		t.Errorf("a valid name: %v", err)
	}
}

// TestControl is pyinfra's rule in every combination that matters.
func TestControl(t *testing.T) {
	yes, no := true, false
	step := func(action ...string) operations.Step {
		return &operations.Command{Cmd: command.Args(append([]string{"svc"}, action...)...)}
	}
	for _, c := range []struct {
		r      initsvc.Request
		status *bool
		want   string
	}{
		{initsvc.Request{Running: &yes}, nil, "svc start"},
		{initsvc.Request{Running: &yes}, &no, "svc start"},
		{initsvc.Request{Running: &yes}, &yes, ""},
		{initsvc.Request{Running: &no}, &yes, "svc stop"},
		{initsvc.Request{Running: &no}, nil, ""},
		{initsvc.Request{Running: &yes, Restarted: true}, &no, "svc start"},
		{initsvc.Request{Running: &yes, Restarted: true, Reloaded: true}, &yes, "svc restart; svc reload"},
		{initsvc.Request{Running: &no, Restarted: true}, &yes, "svc stop; svc restart"},
		{initsvc.Request{Reloaded: true}, &no, ""},
		{initsvc.Request{Command: []string{"kill", "-HUP"}}, nil, "svc kill -HUP"},
	} {
		var got []string
		for _, s := range initsvc.Control(c.r, c.status, step) {
			got = append(got, s.Describe())
		}
		if g := strings.Join(got, "; "); g != c.want {
			t.Errorf("%+v with status %v: %q, want %q", c.r, c.status, g, c.want)
		}
	}
}
