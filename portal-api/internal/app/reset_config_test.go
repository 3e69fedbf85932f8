package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/app"
)

// TestConfig_PasswordResetVariables: the password-reset limits and answer
// time are read with their defaults and checked, each bad value naming its
// variable.
func TestConfig_PasswordResetVariables(t *testing.T) {
	load := func(env ...string) (app.Config, error) {
		var cfg app.Config
		env = append([]string{"RESAYIL_DATA_DIR=" + t.TempDir()}, env...)
		if err := config.Load(&cfg, env); err != nil {
			return cfg, err
		}
		return cfg, cfg.Validate()
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	want := account.ResetLimits{
		PerIdentifier: ratelimit.Limit{Requests: 3, Per: time.Hour},
		PerIP:         ratelimit.Limit{Requests: 10, Per: time.Hour},
		ConfirmPerIP:  ratelimit.Limit{Requests: 20, Per: time.Hour},
	}
	if got := cfg.ResetLimits(); got != want || cfg.ResetAnswerTime() != 250*time.Millisecond {
		t.Errorf("defaults: %+v, answer time %s", got, cfg.ResetAnswerTime())
	}
	if cfg, err := load("RESAYIL_PASSWORD_RESET_ANSWER_TIME=0s"); err != nil || cfg.ResetAnswerTime() >= 0 {
		t.Errorf("answer time 0s must mean none (negative for account.ResetConfig): %s, %v", cfg.ResetAnswerTime(), err)
	}
	for _, bad := range []string{
		"RESAYIL_PASSWORD_RESET_LIMIT=0", "RESAYIL_PASSWORD_RESET_IP_LIMIT=-1", "RESAYIL_PASSWORD_RESET_CONFIRM_IP_LIMIT=0",
		"RESAYIL_PASSWORD_RESET_WINDOW=0s", "RESAYIL_PASSWORD_RESET_ANSWER_TIME=-1s", "RESAYIL_PASSWORD_RESET_ANSWER_TIME=6s",
	} {
		name, _, _ := strings.Cut(bad, "=")
		if _, err := load(bad); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s: %v, want an error naming %s", bad, err, name)
		}
	}
}
