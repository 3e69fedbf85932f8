package app

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// NotifyConfig is how portal-api sends notifications over WhatsApp
// (docs/notifications.md).
type NotifyConfig struct {
	// Notifications turns sending on or off; off leaves the outbox
	// untouched (rows are still written, and sent once it is on).
	Notifications string `env:"NOTIFICATIONS" envDefault:"on"`
	// WhatsAppAPIURL is Meta's Graph API, or the development fake that
	// `make run` starts when no token is set.
	WhatsAppAPIURL string `env:"WHATSAPP_API_URL" envDefault:"https://graph.facebook.com"`
	// WhatsAppAPIVersion is the Graph API version in the URL.
	WhatsAppAPIVersion string `env:"WHATSAPP_API_VERSION" envDefault:"v23.0"`
	// WhatsAppToken is the access token (a system user's); production
	// refuses to start without it while notifications are on.
	WhatsAppToken config.Secret `env:"WHATSAPP_TOKEN"`
	// WhatsAppPhoneNumberID is the sending number's id in Meta's
	// WhatsApp Manager (not the number itself).
	WhatsAppPhoneNumberID string `env:"WHATSAPP_PHONE_NUMBER_ID"`
	// WhatsAppAppSecret verifies the webhooks' X-Hub-Signature-256;
	// without it every webhook is refused.
	WhatsAppAppSecret config.Secret `env:"WHATSAPP_APP_SECRET"`
	// WhatsAppVerifyToken is the token Meta's webhook subscription
	// handshake must present; without it the handshake is refused.
	WhatsAppVerifyToken config.Secret `env:"WHATSAPP_VERIFY_TOKEN"`
	// AdminPhones receive every admin notification besides the admin
	// users (comma-separated, international format).
	AdminPhones string `env:"ADMIN_PHONES"`
	// Worker tuning.
	NotifyInterval      time.Duration `env:"NOTIFY_INTERVAL" envDefault:"5s"`
	NotifyBatch         int           `env:"NOTIFY_BATCH" envDefault:"20"`
	NotifyLease         time.Duration `env:"NOTIFY_LEASE" envDefault:"5m"`
	NotifyMaxAttempts   int           `env:"NOTIFY_MAX_ATTEMPTS" envDefault:"8"`
	NotifyBackoffBase   time.Duration `env:"NOTIFY_BACKOFF_BASE" envDefault:"10s"`
	NotifyBackoffMax    time.Duration `env:"NOTIFY_BACKOFF_MAX" envDefault:"1h"`
	NotifyProbeInterval time.Duration `env:"NOTIFY_PROBE_INTERVAL" envDefault:"1m"`
}

// NotifySendTimeout bounds one message to Meta; RESAYIL_NOTIFY_LEASE must
// cover a whole batch of them.
const NotifySendTimeout = 10 * time.Second

var apiVersionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// NotificationsOn reports whether RESAYIL_NOTIFICATIONS is on.
func (c *NotifyConfig) NotificationsOn() bool { return c.Notifications == "on" }

// AdminPhoneList returns RESAYIL_ADMIN_PHONES as a list.
func (c *NotifyConfig) AdminPhoneList() []string {
	var out []string
	for _, p := range strings.Split(c.AdminPhones, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validateNotify checks the notification variables; production with
// notifications on needs the real API's token and number, over https.
func (c *NotifyConfig) validateNotify(production bool) error {
	if c.Notifications != "on" && c.Notifications != "off" {
		return config.Invalid("NOTIFICATIONS", "must be on or off, got %q", c.Notifications)
	}
	if u, err := url.Parse(c.WhatsAppAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Invalid("WHATSAPP_API_URL", "must be an absolute http(s) URL such as https://graph.facebook.com, got %q", c.WhatsAppAPIURL)
	}
	if !apiVersionPattern.MatchString(c.WhatsAppAPIVersion) {
		return config.Invalid("WHATSAPP_API_VERSION", "must be a Graph API version such as v23.0, got %q", c.WhatsAppAPIVersion)
	}
	for _, ch := range c.WhatsAppPhoneNumberID {
		if ch < '0' || ch > '9' {
			return config.Invalid("WHATSAPP_PHONE_NUMBER_ID", "must be the numeric phone number id from WhatsApp Manager, got %q", c.WhatsAppPhoneNumberID)
		}
	}
	for _, p := range c.AdminPhoneList() {
		if _, ok := notify.NormalizePhone(p); !ok || !strings.HasPrefix(p, "+") {
			return config.Invalid("ADMIN_PHONES", "must be comma-separated phone numbers in international format such as +96550000000, got %q", p)
		}
	}
	if err := c.validateTuning(); err != nil {
		return err
	}
	if production && c.NotificationsOn() {
		if c.WhatsAppToken == "" {
			return config.Invalid("WHATSAPP_TOKEN", "is required in production while RESAYIL_NOTIFICATIONS is on: the WhatsApp Cloud API access token (Meta Business settings, System users); or set RESAYIL_NOTIFICATIONS=off")
		}
		if c.WhatsAppPhoneNumberID == "" {
			return config.Invalid("WHATSAPP_PHONE_NUMBER_ID", "is required in production while RESAYIL_NOTIFICATIONS is on: the sending number's id (WhatsApp Manager, API setup)")
		}
		if !strings.HasPrefix(c.WhatsAppAPIURL, "https://") {
			return config.Invalid("WHATSAPP_API_URL", "must be https in production, got %q", c.WhatsAppAPIURL)
		}
	}
	return nil
}

func (c *NotifyConfig) validateTuning() error {
	if c.NotifyInterval < 100*time.Millisecond || c.NotifyInterval > time.Hour {
		return config.Invalid("NOTIFY_INTERVAL", "must be a duration from 100ms to 1h, got %s", c.NotifyInterval)
	}
	if c.NotifyBatch < 1 || c.NotifyBatch > 1000 {
		return config.Invalid("NOTIFY_BATCH", "must be a whole number from 1 to 1000, got %d", c.NotifyBatch)
	}
	if need := time.Duration(c.NotifyBatch) * NotifySendTimeout; c.NotifyLease < need {
		return config.Invalid("NOTIFY_LEASE", "must cover a batch of RESAYIL_NOTIFY_BATCH (%d) sends of %s each: at least %s, got %s",
			c.NotifyBatch, NotifySendTimeout, need, c.NotifyLease)
	}
	if c.NotifyMaxAttempts < 1 || c.NotifyMaxAttempts > 100 {
		return config.Invalid("NOTIFY_MAX_ATTEMPTS", "must be a whole number from 1 to 100, got %d", c.NotifyMaxAttempts)
	}
	if c.NotifyBackoffBase <= 0 {
		return config.Invalid("NOTIFY_BACKOFF_BASE", "must be a positive duration, got %s", c.NotifyBackoffBase)
	}
	if c.NotifyBackoffMax < c.NotifyBackoffBase {
		return config.Invalid("NOTIFY_BACKOFF_MAX", "must be at least RESAYIL_NOTIFY_BACKOFF_BASE (%s), got %s", c.NotifyBackoffBase, c.NotifyBackoffMax)
	}
	if c.NotifyProbeInterval < time.Second || c.NotifyProbeInterval > 24*time.Hour {
		return config.Invalid("NOTIFY_PROBE_INTERVAL", "must be a duration from 1s to 24h, got %s", c.NotifyProbeInterval)
	}
	return nil
}

// notifyWorkerConfig is the worker's tuning from the variables.
func (c *NotifyConfig) notifyWorkerConfig() notify.Config {
	return notify.Config{
		AdminPhones: c.AdminPhoneList(), Batch: c.NotifyBatch, Lease: c.NotifyLease, MaxAttempts: c.NotifyMaxAttempts,
		BackoffBase: c.NotifyBackoffBase, BackoffMax: c.NotifyBackoffMax, ProbeEvery: c.NotifyProbeInterval, SendTimeout: NotifySendTimeout,
	}
}
