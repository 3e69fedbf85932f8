package archtest_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/archtest"
)

const m = archtest.Module

// std, dep and root build graph nodes.
func std(path string, imports ...string) archtest.Package {
	return archtest.Package{ImportPath: path, Imports: imports, Standard: true}
}

func dep(path string, imports ...string) archtest.Package {
	return archtest.Package{ImportPath: path, Imports: imports}
}

func root(path string, imports ...string) archtest.Package {
	return archtest.Package{ImportPath: path, Imports: imports, Root: true}
}

// violations renders Evaluate's result as "rule: from -> ... -> dep".
func violations(g *archtest.Graph, rules []archtest.Rule) []string {
	var out []string
	for _, v := range archtest.Evaluate(g, rules) {
		out = append(out, fmt.Sprintf("%s: %s", v.Rule, strings.Join(v.Chain, " -> ")))
	}
	return out
}

// TestRules_EachCanFail feeds every project rule a graph that breaks it (and
// a variant that does not) and checks the violation is reported with the
// offending chain.
func TestRules_EachCanFail(t *testing.T) {
	tests := []struct {
		name string
		pkgs []archtest.Package
		want []string
	}{
		{
			name: "DomainImportsThirdParty",
			pkgs: []archtest.Package{
				root(m+"/pkg/resayil", "fmt", "gorm.io/gorm"),
				std("fmt"), dep("gorm.io/gorm", "database/sql"), std("database/sql"),
			},
			want: []string{archtest.RuleDomainStdlib + ": " + m + "/pkg/resayil -> gorm.io/gorm"},
		},
		{
			name: "DomainImportsOtherPkg",
			pkgs: []archtest.Package{
				root(m+"/pkg/resayil", m+"/pkg/config"),
				root(m+"/pkg/config", "os"), std("os"),
			},
			want: []string{archtest.RuleDomainStdlib + ": " + m + "/pkg/resayil -> " + m + "/pkg/config"},
		},
		{
			name: "DomainStdlibAndOwnSubpackagesOK",
			pkgs: []archtest.Package{
				root(m+"/pkg/resayil", "fmt", "C", m+"/pkg/resayil/internal/money"),
				root(m+"/pkg/resayil/internal/money", "strconv"),
				std("fmt"), std("strconv"),
			},
		},
		{
			name: "GatewayImportsPortal",
			pkgs: []archtest.Package{
				root(m+"/gateway/cmd/gateway", m+"/gateway/internal/app"),
				root(m+"/gateway/internal/app", m+"/portal-api/internal/billing"),
				dep(m + "/portal-api/internal/billing"),
			},
			want: []string{
				archtest.RuleGatewayNotPortal + ": " + m + "/gateway/cmd/gateway -> " + m + "/gateway/internal/app -> " + m + "/portal-api/internal/billing",
				archtest.RuleGatewayNotPortal + ": " + m + "/gateway/internal/app -> " + m + "/portal-api/internal/billing",
			},
		},
		{
			name: "PortalImportsGateway",
			pkgs: []archtest.Package{
				root(m+"/portal-api/internal/api", m+"/gateway/internal/relay"),
				dep(m + "/gateway/internal/relay"),
			},
			want: []string{archtest.RulePortalNotGateway + ": " + m + "/portal-api/internal/api -> " + m + "/gateway/internal/relay"},
		},
		{
			name: "PkgImportsAService",
			pkgs: []archtest.Package{
				root(m+"/pkg/wallet", m+"/portal-api/internal/store", m+"/gateway/internal/keyauth"),
				dep(m + "/portal-api/internal/store"), dep(m + "/gateway/internal/keyauth"),
			},
			want: []string{
				archtest.RulePkgNotServices + ": " + m + "/pkg/wallet -> " + m + "/gateway/internal/keyauth",
				archtest.RulePkgNotServices + ": " + m + "/pkg/wallet -> " + m + "/portal-api/internal/store",
			},
		},
		{
			name: "ProductionImportsTestenvThroughAnotherPackage",
			pkgs: []archtest.Package{
				root(m+"/portal-api/cmd/portal", m+"/pkg/database"),
				dep(m+"/pkg/database", m+"/pkg/testenv"),
				dep(m+"/pkg/testenv", m+"/pkg/fake/fakemyfatoorah"),
				dep(m + "/pkg/fake/fakemyfatoorah"),
			},
			want: []string{
				archtest.RuleNoTestOnly + ": " + m + "/portal-api/cmd/portal -> " + m + "/pkg/database -> " + m + "/pkg/testenv -> " + m + "/pkg/fake/fakemyfatoorah",
				archtest.RuleNoTestOnly + ": " + m + "/portal-api/cmd/portal -> " + m + "/pkg/database -> " + m + "/pkg/testenv",
			},
		},
		{
			name: "ProductionImportsFakeSuiteOrArchtest",
			pkgs: []archtest.Package{
				root(m+"/pkg/wallet/walletredis", m+"/pkg/wallet/wallettest"),
				root(m+"/gateway/internal/app", m+"/pkg/archtest", m+"/pkg/fake/fakeollama"),
				root(m + "/pkg/wallet/wallettest"),
				dep(m + "/pkg/archtest"), dep(m + "/pkg/fake/fakeollama"),
			},
			want: []string{
				archtest.RuleNoTestOnly + ": " + m + "/gateway/internal/app -> " + m + "/pkg/archtest",
				archtest.RuleNoTestOnly + ": " + m + "/gateway/internal/app -> " + m + "/pkg/fake/fakeollama",
				archtest.RuleNoTestOnly + ": " + m + "/pkg/wallet/walletredis -> " + m + "/pkg/wallet/wallettest",
			},
		},
		{
			name: "DevFakesAndTestHelpersMayUseFakes",
			pkgs: []archtest.Package{
				root(m+"/pkg/cmd/fakemyfatoorah", m+"/pkg/fake/fakemyfatoorah"),
				root(m+"/pkg/testenv", m+"/pkg/fake/fakemyfatoorah"),
				root(m+"/pkg/fake/fakemyfatoorah", m+"/pkg/fake/internal/fakechat"),
				root(m+"/pkg/wallet/wallettest", m+"/pkg/testenv"),
				root(m + "/pkg/fake/internal/fakechat"),
			},
		},
		{
			name: "HotPathImportsGorm",
			pkgs: []archtest.Package{
				root(m+"/gateway/internal/relay", m+"/pkg/wallet/walletsql"),
				dep(m+"/pkg/wallet/walletsql", "gorm.io/gorm"),
				dep("gorm.io/gorm", "database/sql"),
				std("database/sql", "database/sql/driver"), std("database/sql/driver"),
			},
			want: []string{
				archtest.RuleHotPathNoDatabase + ": " + m + "/gateway/internal/relay -> " + m + "/pkg/wallet/walletsql -> gorm.io/gorm -> database/sql",
				archtest.RuleHotPathNoDatabase + ": " + m + "/gateway/internal/relay -> " + m + "/pkg/wallet/walletsql -> gorm.io/gorm",
			},
		},
		{
			name: "HotPathImportsDatabaseSQL",
			pkgs: []archtest.Package{
				root(m+"/gateway/internal/admission", "database/sql"),
				root(m+"/gateway/internal/routing", "database/sql"),
				root(m+"/gateway/internal/upstream/ollama", "database/sql"),
				std("database/sql"),
			},
			want: []string{
				archtest.RuleHotPathNoDatabase + ": " + m + "/gateway/internal/admission -> database/sql",
				archtest.RuleHotPathNoDatabase + ": " + m + "/gateway/internal/routing -> database/sql",
				archtest.RuleHotPathNoDatabase + ": " + m + "/gateway/internal/upstream/ollama -> database/sql",
			},
		},
		{
			name: "OffHotPathMayUseTheDatabase",
			pkgs: []archtest.Package{
				root(m+"/gateway/internal/keyauth", "database/sql"),
				root(m+"/gateway/internal/relay", "github.com/google/uuid"),
				dep("github.com/google/uuid", "database/sql/driver"),
				std("database/sql"), std("database/sql/driver"),
			},
		},
		{
			name: "MigrationsImportsPkg",
			pkgs: []archtest.Package{
				root(m+"/migrations", "embed", "github.com/pressly/goose/v3", m+"/pkg/database"),
				std("embed"), dep("github.com/pressly/goose/v3", "github.com/sethvargo/go-retry"),
				dep("github.com/sethvargo/go-retry"), dep(m + "/pkg/database"),
			},
			want: []string{archtest.RuleMigrationsGoose + ": " + m + "/migrations -> " + m + "/pkg/database"},
		},
		{
			name: "MigrationsGooseAndStdlibOK",
			pkgs: []archtest.Package{
				root(m+"/migrations", "embed", "github.com/pressly/goose/v3", "github.com/pressly/goose/v3/lock"),
				std("embed"), dep("github.com/pressly/goose/v3", "github.com/sethvargo/go-retry"),
				dep("github.com/pressly/goose/v3/lock"), dep("github.com/sethvargo/go-retry"),
			},
		},
		{
			name: "RulesOnlyHoldTheModulesOwnPackages",
			pkgs: []archtest.Package{
				root(m+"/gateway/cmd/gateway", m+"/pkg/resayil"),
				dep(m+"/pkg/resayil", "gorm.io/gorm"),
				dep("gorm.io/gorm"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations(archtest.NewGraph(tt.pkgs...), archtest.Rules())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestRules_AllCovered makes sure no rule is left without a failing case
// above: every rule name appears in some expected violation.
func TestRules_AllCovered(t *testing.T) {
	covered := map[string]bool{
		archtest.RuleDomainStdlib:      true,
		archtest.RuleGatewayNotPortal:  true,
		archtest.RulePortalNotGateway:  true,
		archtest.RulePkgNotServices:    true,
		archtest.RuleNoTestOnly:        true,
		archtest.RuleHotPathNoDatabase: true,
		archtest.RuleMigrationsGoose:   true,
	}
	for _, r := range archtest.Rules() {
		if !covered[r.Name] {
			t.Errorf("rule %q has no case in TestRules_EachCanFail", r.Name)
		}
	}
}

func TestViolation_String(t *testing.T) {
	v := archtest.Violation{Rule: "r", From: "a", Dep: "c", Chain: []string{"a", "b", "c"}}
	if got, want := v.String(), `a depends on c (a -> b -> c), which breaks the rule "r"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	v = archtest.Violation{Rule: "r", From: "a", Dep: "b", Chain: []string{"a", "b"}}
	if got, want := v.String(), `a imports b, which breaks the rule "r"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestEvaluate_ImportCycleTerminates(t *testing.T) {
	g := archtest.NewGraph(
		root("x/a", "x/b"), root("x/b", "x/a", "x/bad"), dep("x/bad"),
	)
	rules := []archtest.Rule{{Name: "no bad", From: []string{"x/..."}, Except: []string{"x/bad"}, Forbid: []string{"x/bad"}}}
	got := violations(g, rules)
	want := []string{"no bad: x/a -> x/b -> x/bad", "no bad: x/b -> x/bad"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("violations:\n got %q\nwant %q", got, want)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, pkg string
		want         bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b", "a/bc", false},
		{"a/b/...", "a/b", true},
		{"a/b/...", "a/b/c/d", true},
		{"a/b/...", "a/bc", false},
		{"a/b/...", "a", false},
		{"a/cmd/fake*/...", "a/cmd/fakeollama", true},
		{"a/cmd/fake*/...", "a/cmd/fakeollama/x", true},
		{"a/cmd/fake*/...", "a/cmd/gateway", false},
		{"a/*/*test/...", "a/wallet/wallettest", true},
		{"a/*/*test/...", "a/wallet/walletredis", false},
		{"a/*/*test/...", "a/wallet", false},
		{"gorm.io/...", "gorm.io/gorm/clause", true},
		{"database/sql", "database/sql/driver", false},
	}
	for _, tt := range tests {
		if got := archtest.Match(tt.pattern, tt.pkg); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.pkg, got, tt.want)
		}
	}
}
