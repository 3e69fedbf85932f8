package app

import (
	"context"
	"net/http"
	"time"

	"github.com/resayil/portal/pkg/whatsapp"
	"github.com/resayil/portal/portal-api/internal/api"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// buildNotify wires the notifications: the admin service always (the
// outbox is listed even while sending is off), and the worker when
// notifications are on and a token is set. In development without a
// token the outbox waits unsent: `make run` starts the development fake
// Graph API and sets one.
func (a *App) buildNotify(now func() time.Time) error {
	on := a.cfg.NotificationsOn()
	a.NotifyAdmin = notify.NewAdmin(a.Store.Notify(), now, on)
	switch {
	case !on:
		a.log.Info("RESAYIL_NOTIFICATIONS is off: notifications are written to the outbox and not sent")
		return nil
	case a.cfg.WhatsAppToken == "":
		a.log.Warn("RESAYIL_WHATSAPP_TOKEN is empty: notifications wait in the outbox, unsent (make run starts a development fake WhatsApp)")
		return nil
	}
	if a.cfg.WhatsAppAppSecret == "" {
		a.log.Warn("RESAYIL_WHATSAPP_APP_SECRET is empty: WhatsApp status webhooks are refused; deliveries show Meta's acceptance only")
	}
	wc := a.cfg.notifyWorkerConfig()
	wc.Store, wc.Now, wc.Log = a.Store.Notify(), now, a.log
	wc.Sender = whatsapp.New(whatsapp.Config{
		BaseURL: a.cfg.WhatsAppAPIURL, APIVersion: a.cfg.WhatsAppAPIVersion, PhoneNumberID: a.cfg.WhatsAppPhoneNumberID,
		Token: a.cfg.WhatsAppToken.Reveal(), HTTPClient: &http.Client{Timeout: NotifySendTimeout},
	})
	var err error
	a.Notifier, err = notify.New(wc)
	return err
}

// notificationDeps is what the HTTP layer needs of the notifications.
func (a *App) notificationDeps() api.NotificationDeps {
	return api.NotificationDeps{
		Admin: a.NotifyAdmin, AppSecret: a.cfg.WhatsAppAppSecret.Reveal(), VerifyToken: a.cfg.WhatsAppVerifyToken.Reveal(),
	}
}

// runNotifier runs the worker until ctx ends (Serve); without one it
// returns at once.
func (a *App) runNotifier(ctx context.Context) {
	if a.Notifier != nil {
		_ = a.Notifier.Run(ctx, a.cfg.NotifyInterval)
	}
}
