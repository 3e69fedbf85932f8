package app_test

import (
	"strings"
	"testing"

	"github.com/resayil/portal/gateway/internal/app"
	"github.com/resayil/portal/pkg/config"
)

func loadConfig(t *testing.T, env ...string) (*app.Config, error) {
	t.Helper()
	var cfg app.Config
	if err := config.Load(&cfg, env); err != nil {
		return nil, err
	}
	return &cfg, cfg.Validate()
}

func TestConfig_OllamaURLs(t *testing.T) {
	cfg, err := loadConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := cfg.LocalHosts()
	if len(hosts) != 1 || hosts[0] != (app.LocalHost{URL: "http://127.0.0.1:11434", Slots: 1}) || cfg.CloudEnabled() || cfg.CloudURL != "https://ollama.com" {
		t.Fatalf("defaults: %+v cloud %v %s", hosts, cfg.CloudEnabled(), cfg.CloudURL)
	}
	cfg, err = loadConfig(t, "RESAYIL_OLLAMA_URLS= http://gpu1:11434/|4 , http://gpu2:11434 ,", "RESAYIL_OLLAMA_URL=http://ignored:1", "RESAYIL_CLOUD_API_KEY=k")
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ = cfg.LocalHosts()
	want := []app.LocalHost{{URL: "http://gpu1:11434", Slots: 4}, {URL: "http://gpu2:11434", Slots: 1}}
	if len(hosts) != 2 || hosts[0] != want[0] || hosts[1] != want[1] || !cfg.CloudEnabled() {
		t.Fatalf("hosts %+v", hosts)
	}
	for _, bad := range []string{"http://a:1|0", "http://a:1|x", "http://a:1|2000", "gpu1:11434", "http://a:1,http://a:1|2", " , ", "http://{a}:1"} {
		if _, err := loadConfig(t, "RESAYIL_OLLAMA_URLS="+bad); err == nil || !strings.Contains(err.Error(), "RESAYIL_OLLAMA_URLS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range [][]string{
		{"RESAYIL_LOCAL_QUEUE_THRESHOLD=-1"}, {"RESAYIL_LOCAL_QUEUE_MAX=0"}, {"RESAYIL_QUEUE_TIMEOUT=0s"},
		{"RESAYIL_CLOUD_DAILY_BUDGET=-5"}, {"RESAYIL_CLOUD_API_KEY=k", "RESAYIL_CLOUD_URL=ftp://x"},
	} {
		if _, err := loadConfig(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
