package inventory

import (
	"errors"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/starlimit"
)

// A runaway inventory ends with an error at its file and line.
func TestStepLimit(t *testing.T) {
	t.Setenv(starlimit.EnvMaxSteps, "200000")
	dir := t.TempDir()
	for name, src := range map[string]string{
		"loop.star":  "web = [\"web1\"]\nx = 0\nwhile True:\n    x += 1\n",
		"bomb.star":  "web = [\"web%d\" % i for i in range(10000000)]\n",
		"group.star": "web = [\"web1\"]\n",
	} {
		writeFile(t, dir, name, src)
	}
	writeFile(t, dir, "group_data/web.star", "_n = 0\nfor i in range(100000000):\n    _n += i\n")
	for _, name := range []string{"loop.star", "bomb.star", "group.star"} {
		_, err := load(t, dir+"/"+name, Options{})
		want := dir + "/" + name + ":"
		if name == "group.star" {
			want = dir + "/group_data/web.star:"
		}
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: error %v, want one starting %q about too many steps", name, err, want)
		}
	}
}
