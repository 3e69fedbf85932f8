package archtest

// Module is the import path every module of the workspace starts with.
const Module = "github.com/resayil/portal"

const (
	pkgModule     = Module + "/pkg"
	gatewayModule = Module + "/gateway"
	portalModule  = Module + "/portal-api"
	migrationsMod = Module + "/migrations"
)

// TestOnly matches the packages that only tests (and the development fakes)
// may import: the fakes of off-machine services, the test environment, this
// package, the contract suites named <capability>test (docs/architecture.md
// "Dependency rules"), and each service's test harness (gatewaytest,
// apitest).
var TestOnly = []string{
	pkgModule + "/fake/...",
	pkgModule + "/testenv/...",
	pkgModule + "/archtest/...",
	pkgModule + "/*/*test/...",
	pkgModule + "/*/*/*test/...",
	gatewayModule + "/internal/*test/...",
	portalModule + "/internal/*test/...",
}

// DevFakes matches the development programs that serve the fakes; they are
// the only production packages allowed to import TestOnly packages.
var DevFakes = []string{
	pkgModule + "/cmd/fake*/...",
}

// Rule names, as failures quote them.
const (
	RuleDomainStdlib      = "pkg/resayil imports only the standard library"
	RuleGatewayNotPortal  = "gateway never imports portal-api"
	RulePortalNotGateway  = "portal-api never imports gateway"
	RulePkgNotServices    = "pkg imports neither gateway nor portal-api"
	RuleNoTestOnly        = "production code never imports pkg/fake, pkg/testenv, pkg/archtest or contract suites"
	RuleHotPathNoDatabase = "the gateway's request path (relay, admission, routing, upstream) imports neither gorm.io nor database/sql"
	RuleMigrationsGoose   = "migrations imports only goose and the standard library"
)

// Rules returns the dependency rules (docs/architecture.md "Dependency
// rules") that an import graph can show. Every module checks all of them: a
// rule whose From matches none of a module's packages (or packages that do
// not exist yet) passes trivially.
func Rules() []Rule {
	return []Rule{
		{
			Name:      RuleDomainStdlib,
			From:      []string{pkgModule + "/resayil/..."},
			StdlibAnd: []string{},
		},
		{
			Name:   RuleGatewayNotPortal,
			From:   []string{gatewayModule + "/..."},
			Forbid: []string{portalModule + "/..."},
		},
		{
			Name:   RulePortalNotGateway,
			From:   []string{portalModule + "/..."},
			Forbid: []string{gatewayModule + "/..."},
		},
		{
			Name:   RulePkgNotServices,
			From:   []string{pkgModule + "/..."},
			Forbid: []string{gatewayModule + "/...", portalModule + "/..."},
		},
		{
			Name:   RuleNoTestOnly,
			From:   []string{Module + "/..."},
			Except: append(append([]string(nil), TestOnly...), DevFakes...),
			Forbid: TestOnly,
		},
		{
			Name: RuleHotPathNoDatabase,
			From: []string{
				gatewayModule + "/internal/relay/...",
				gatewayModule + "/internal/admission/...",
				gatewayModule + "/internal/routing/...",
				gatewayModule + "/internal/upstream/...",
			},
			Forbid: []string{"gorm.io/...", "database/sql"},
		},
		{
			Name:      RuleMigrationsGoose,
			From:      []string{migrationsMod + "/..."},
			StdlibAnd: []string{"github.com/pressly/goose/v3/..."},
		},
	}
}
