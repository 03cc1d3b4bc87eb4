package dnf_test

import (
	"testing"

	_ "github.com/goinfra-dev/goinfra/operations/dnf"
	"github.com/goinfra-dev/goinfra/operations/internal/yumlike/yumliketest"
)

// pyinfra's fixtures for dnf, run by the test dnf and yum share.
func TestOperationFixtures(t *testing.T) { yumliketest.OperationFixtures(t, "dnf") }

func TestFactFixtures(t *testing.T) { yumliketest.FactFixtures(t, "dnf") }
