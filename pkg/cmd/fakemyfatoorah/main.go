// Command fakemyfatoorah runs the fake MyFatoorah v2 API
// (pkg/fake/fakemyfatoorah) as a standalone server, so the portal can be
// developed and clicked through end to end with no MyFatoorah account and no
// money. Point the portal's MyFatoorah base URL at it and use the same
// token. It is a FAKE: never deploy it.
//
//	go run ./cmd/fakemyfatoorah -webhook-url http://127.0.0.1:8081/api/v1/webhooks/myfatoorah -webhook-secret dev-webhook-secret
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "fakemyfatoorah:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakemyfatoorah", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	token := fs.String("token", "dev-token", "API token clients must send as 'Authorization: Bearer <token>'")
	webhookURL := fs.String("webhook-url", "", "URL to POST payment webhooks to (empty: no webhooks)")
	webhookSecret := fs.String("webhook-secret", "", "webhook signing secret (MyFatoorah-Signature header)")
	webhookVersion := fs.Int("webhook-version", 2, "webhook format: 1 or 2")
	quiet := fs.Bool("quiet", false, "leave out the FAKE warning (for a launcher that prints its own, as make run does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *webhookVersion != 1 && *webhookVersion != 2 {
		return fmt.Errorf("-webhook-version must be 1 or 2, got %d", *webhookVersion)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	opts := []fakemyfatoorah.Option{
		fakemyfatoorah.WithListener(l),
		fakemyfatoorah.WithToken(*token),
		fakemyfatoorah.WithLogger(logger),
		// Local portals call back to localhost, which the real service
		// refuses; the fake allows it for development.
		fakemyfatoorah.WithLocalhostCallbacks(),
	}
	if *webhookURL != "" {
		if *webhookSecret == "" {
			logger.Warn("webhooks are unsigned: the real MyFatoorah requires a secret for V2")
		}
		opts = append(opts, fakemyfatoorah.WithWebhook(*webhookURL, *webhookSecret, fakemyfatoorah.WebhookVersion(*webhookVersion)))
	}
	srv := fakemyfatoorah.New(opts...)
	defer srv.Close()

	if !*quiet {
		logger.Warn("THIS IS A FAKE MyFatoorah FOR DEVELOPMENT ONLY: no real payments are made; never point production at it")
	}
	logger.Info("fake MyFatoorah listening",
		"base_url", srv.URL(), "token", *token,
		"webhook_url", *webhookURL, "webhook_version", *webhookVersion,
		"pay_page", srv.URL()+"/pay/{invoiceId}")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("fake MyFatoorah stopping")
	return nil
}
