package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/whatsapp"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	const secret = "s3cret"
	statuses := make(chan whatsapp.Status, 4)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !whatsapp.VerifySignature(secret, r.Header.Get(whatsapp.SignatureHeader), body) {
			t.Errorf("webhook signature does not verify")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sts, err := whatsapp.ParseStatuses(body)
		if err != nil {
			t.Errorf("webhook: %v", err)
		}
		for _, s := range sts {
			statuses <- s
		}
	}))
	defer endpoint.Close()

	var logs testenv.Buffer
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-token", "tok", "-phone-number-id", "42", "-app-secret", secret, "-webhook-url", endpoint.URL}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}

	c := whatsapp.New(whatsapp.Config{BaseURL: "http://" + addr, APIVersion: "v23.0", PhoneNumberID: "42", Token: "tok"})
	id, err := c.SendTemplate(ctx, whatsapp.Template{To: "+96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "482913"})
	if err != nil {
		t.Fatalf("SendTemplate: %v", err)
	}
	for _, want := range []string{"sent", "delivered"} {
		select {
		case s := <-statuses:
			if s.MessageID != id || s.Status != want || s.RecipientID != "96550000000" {
				t.Errorf("webhook status %+v, want %s for %s", s, want, id)
			}
		case <-ctx.Done():
			t.Fatalf("no %s webhook", want)
		}
	}
	if _, err := whatsapp.New(whatsapp.Config{BaseURL: "http://" + addr, APIVersion: "v23.0", PhoneNumberID: "42", Token: "other"}).
		SendTemplate(ctx, whatsapp.Template{To: "96550000000", Name: "x", Language: "en"}); whatsapp.Classify(err) != whatsapp.Paused {
		t.Errorf("wrong token: %v, want a paused-class error", err)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Errorf("run after shutdown: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"FAKE WhatsApp", "message accepted", "id=" + id, "template=resayil_reset_code", "language=ar", "to=96550000000", "body_params=[482913]", "copy_code=482913"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestRun_Quiet(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var logs testenv.Buffer
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet"}, &logs, ready) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "FAKE") {
		t.Errorf("-quiet still warns:\n%s", logs.String())
	}
}

func TestRun_BadArguments(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-addr", "not-an-address"}} {
		if err := run(t.Context(), args, io.Discard, nil); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("run(%q) = %v, want an error", args, err)
		}
	}
}
