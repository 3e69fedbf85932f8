// Command fakewhatsapp serves the fake WhatsApp Cloud API of
// pkg/fake/fakewhatsapp on a fixed address, so the portal's WhatsApp
// notifications can be developed with no Meta account: point the portal's
// WhatsApp base URL at it and use the same token and phone number id. Each
// accepted message is logged (template, language, recipient, parameters),
// so a developer sees what would have been sent. With -webhook-url it also
// plays Meta's status webhooks: "sent", then "delivered", for every message,
// signed with -app-secret. It is a FAKE: never point production at it.
//
//	fakewhatsapp -addr 127.0.0.1:8091 -token dev-whatsapp-token -webhook-url http://127.0.0.1:8081/api/v1/webhooks/whatsapp
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/whatsapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "fakewhatsapp:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, when not nil, receives the address
// actually bound (useful with -addr 127.0.0.1:0).
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("fakewhatsapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8091", "address to listen on")
	token := fs.String("token", "dev-whatsapp-token", "access token clients must send as 'Authorization: Bearer <token>'")
	phoneNumberID := fs.String("phone-number-id", "100000000000001", "phone number id clients must put in the path (/{version}/{phone-number-id}/messages)")
	appSecret := fs.String("app-secret", "dev-whatsapp-app-secret", "app secret that signs webhooks (X-Hub-Signature-256)")
	webhookURL := fs.String("webhook-url", "", "URL to POST status webhooks to, sent then delivered for each message (empty: none)")
	quiet := fs.Bool("quiet", false, "leave out the FAKE warning (for a launcher that prints its own, as make run does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	fake := fakewhatsapp.New(fakewhatsapp.Options{Token: *token, PhoneNumberID: *phoneNumberID, AppSecret: *appSecret})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if !*quiet {
		log.Warn("FAKE WhatsApp Cloud API for development only: nothing is sent to anyone; never point production at it")
	}
	log.Info("fake WhatsApp listening",
		"base_url", "http://"+ln.Addr().String(), "token", *token, "phone_number_id", *phoneNumberID,
		"webhook_url", *webhookURL)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		report(loopCtx, fake, log, *webhookURL)
	}()

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	stopLoop()
	<-loopDone
	if err != nil {
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("fake WhatsApp stopped")
	return nil
}

// report logs every accepted message as it comes and, with a webhook URL,
// posts its statuses, until ctx ends.
func report(ctx context.Context, fake *fakewhatsapp.Server, log *slog.Logger, webhookURL string) {
	for n := 1; ; n++ {
		msgs, err := fake.WaitMessages(ctx, n)
		if err != nil {
			return
		}
		m := msgs[n-1]
		attrs := []any{"id", m.ID, "template", m.Name, "language", m.Language, "to", m.To, "body_params", m.BodyParams}
		if m.CopyCode != "" {
			attrs = append(attrs, "copy_code", m.CopyCode)
		}
		log.Info("message accepted", attrs...)
		if webhookURL == "" {
			continue
		}
		// One webhook per status, in order, as Meta usually sends them.
		for _, status := range []string{"sent", "delivered"} {
			err := fake.PostStatuses(ctx, webhookURL, whatsapp.Status{MessageID: m.ID, Status: status, RecipientID: m.To, Timestamp: time.Now()})
			if err != nil {
				log.Warn("status webhook not delivered", "id", m.ID, "status", status, "err", err)
				break
			}
		}
	}
}
