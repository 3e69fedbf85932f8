package authlog_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/authlog/authlogtest"
)

// debianConfig copies the configuration Debian's fail2ban package ships
// (its jail.conf defines the firewall actions the project's jails use),
// without its enabled sshd jail, and adds deploy/fail2ban's three files,
// as deploy/fail2ban/README.md tells an operator to.
func debianConfig(t *testing.T) string {
	t.Helper()
	const etc = "/etc/fail2ban"
	if _, err := os.Stat(filepath.Join(etc, "jail.conf")); err != nil {
		t.Fatalf("%s/jail.conf is missing: run `make services`, which installs Debian's fail2ban package", etc)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", etc+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", etc, err, out)
	}
	for _, local := range []string{"jail.d", "fail2ban.d"} {
		if err := os.RemoveAll(filepath.Join(dir, local)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, local), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"jail.local", "fail2ban.local", "action.d/resayil-notify.local"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	for _, f := range []string{"filter.d/resayil.conf", "action.d/resayil-notify.conf", "jail.d/resayil.conf"} {
		b, err := os.ReadFile(filepath.Join(authlogtest.DeployDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dump is what fail2ban-client would send the server: the configuration
// after every .conf, .local and interpolation.
func dump(t *testing.T, dir string) string {
	t.Helper()
	client := authlogtest.Tool(t, "fail2ban-client")
	if out, err := exec.Command(client, "-c", dir, "-t").CombinedOutput(); err != nil {
		t.Fatalf("fail2ban-client -t: %v\n%s", err, out)
	}
	out, err := exec.Command(client, "-c", dir, "-d").CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-client -d: %v\n%s", err, out)
	}
	return string(out)
}

// The shipped files load on Debian's fail2ban configuration, each jail
// with the host's firewall action and resayil-notify; and the overrides
// deploy/fail2ban/README.md gives for a host install and for compose
// produce the commands it says.
func TestDeploy_InstallsOnDebiansConfig(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "auth-failures.log")
	writeFile(t, logPath, "")
	jails := "[resayil-gateway]\nlogpath = " + logPath + "\n\n[resayil-portal]\nlogpath = " + logPath + "\n"

	t.Run("http", func(t *testing.T) {
		dir := debianConfig(t)
		writeFile(t, filepath.Join(dir, "jail.d", "resayil.local"), jails)
		out := dump(t, dir)
		for _, jail := range []string{"resayil-gateway", "resayil-portal"} {
			for _, want := range []string{
				"['add', '" + jail + "', 'auto']",
				"['set', '" + jail + "', 'addaction', 'iptables-multiport']",
				"['set', '" + jail + "', 'addaction', 'resayil-notify']",
				`--data \'{"ip":"<ip>","jail":"` + jail + `"}\' http://127.0.0.1:8081/api/v1/internal/ip-banned']`,
				"-H @/etc/fail2ban/resayil-internal.header",
				"['norestored', True]",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: the configuration lacks %s", jail, want)
				}
			}
		}
		if strings.Contains(out, "'sshd'") {
			t.Error("Debian's sshd jail is on: the copy is not the package's defaults")
		}
	})

	t.Run("cli", func(t *testing.T) {
		dir := debianConfig(t)
		writeFile(t, filepath.Join(dir, "jail.d", "resayil.local"), "[DEFAULT]\nbanaction = nftables-multiport\n\n"+strings.Replace(jails, "[resayil-gateway]\n", "[resayil-gateway]\nport = 8443\n", 1))
		writeFile(t, filepath.Join(dir, "action.d", "resayil-notify.local"),
			"[Definition]\nactionban = %(actionban_cli)s\n\n[Init]\nportal_api = /usr/local/bin/portal-api\nenvfile = /etc/resayil/portal-api.env\n")
		out := dump(t, dir)
		for _, want := range []string{
			"['actionban', 'set -a && . /etc/resayil/portal-api.env && set +a && /usr/local/bin/portal-api notify ip-banned --ip <ip> --jail resayil-gateway']",
			"['set', 'resayil-portal', 'addaction', 'nftables-multiport']",
			"['port', '8443']",       // the gateway's
			"['port', 'http,https']", // the portal's
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the configuration lacks %s", want)
			}
		}
	})

	t.Run("compose", func(t *testing.T) {
		dir := debianConfig(t)
		writeFile(t, filepath.Join(dir, "jail.d", "resayil.local"),
			"[DEFAULT]\nchain = DOCKER-USER\n\n[resayil-gateway]\nlogpath = "+logPath+"\nport = 8080\n\n[resayil-portal]\nlogpath = "+logPath+"\nport = 8081\n")
		writeFile(t, filepath.Join(dir, "action.d", "resayil-notify.local"),
			"[Definition]\nactionban = %(actionban_compose)s\n\n[Init]\ncompose_dir = /opt/resayil\n")
		out := dump(t, dir)
		for _, want := range []string{
			"['actionban', 'cd /opt/resayil && docker compose exec -T portal-api /portal-api notify ip-banned --ip <ip> --jail resayil-portal']",
			"['chain', 'DOCKER-USER']",
			"['port', '8080']",
			"['port', '8081']",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the configuration lacks %s", want)
			}
		}
	})
}
