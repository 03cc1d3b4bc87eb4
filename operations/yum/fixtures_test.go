package yum_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/operations/internal/yumlike/yumliketest"
	_ "github.com/goinfra-dev/goinfra/operations/yum"
)

// pyinfra's fixtures for yum, run by the test dnf and yum share.
func TestOperationFixtures(t *testing.T) { yumliketest.OperationFixtures(t, "yum") }

func TestFactFixtures(t *testing.T) { yumliketest.FactFixtures(t, "yum") }
