package pkg_test

import (
	"testing"

	"github.com/resayil/portal/pkg/archtest"
)

// TestArchitecture fails on an import that breaks the dependency rules
// (docs/architecture.md "Dependency rules") in this module's production
// packages.
func TestArchitecture(t *testing.T) {
	archtest.Check(t, archtest.Rules())
}
