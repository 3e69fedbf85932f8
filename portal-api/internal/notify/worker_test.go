package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// TestWorker_OneMessagePerRecipientWithBothHalves: an outbox row becomes
// one delivery per recipient and one message each at the fake Graph API:
// the template's name and language, the recipient's digits, the Arabic
// half's parameters then the English half's.
func TestWorker_OneMessagePerRecipientWithBothHalves(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("credits_low", "resayil_credits_low", "ar", notify.CategoryUtility, 4)
		e.template("welcome", "resayil_welcome", "ar", notify.CategoryUtility, 2)
		e.template("cloud_budget_80", "resayil_cloud_budget_80", "ar", notify.CategoryUtility, 4)

		fatima := e.user("+96550000001", true, resayil.RoleUser, resayil.LocaleAR)
		// A team account goes to its team admins only.
		owner, deputy, member := e.user("+96550000002", true, resayil.RoleUser, resayil.LocaleEN),
			e.user("+96550000003", true, resayil.RoleUser, resayil.LocaleEN), e.user("+96550000004", true, resayil.RoleUser, resayil.LocaleEN)
		team := e.team(owner, map[user]string{owner: notify.TeamAdminRole, deputy: notify.TeamAdminRole, member: "member"})
		// Admins: the seed's placeholder number, one who did not opt in,
		// one who did; RESAYIL_ADMIN_PHONES repeats hers and adds one.
		e.user(notify.PlaceholderPhone, true, resayil.RoleAdmin, resayil.LocaleEN)
		e.user("+96550000005", false, resayil.RoleAdmin, resayil.LocaleEN)
		ops := e.user("+96550000006", true, resayil.RoleAdmin, resayil.LocaleEN)

		personal := e.outbox("credits_low", notify.AudienceUser, fatima.Account, fatima.ID, notify.Payload{
			Params: []string{"120", "https://portal.example/billing"}, ParamsAR: []string{"١٢٠", "https://portal.example/billing"},
		})
		teamRow := e.outbox("welcome", notify.AudienceUser, team, 0, notify.Payload{Params: []string{"Acme"}})
		admins := e.outbox("cloud_budget_80", notify.AudienceAdmins, 0, 0, notify.Payload{Params: []string{"400", "500"}})

		w := e.worker(notify.Config{AdminPhones: []string{"+96550000006", "96550000007"}})
		p := run(t, w)
		if p.Expanded != 3 || p.Sent != 5 || p.Claimed != 5 {
			t.Fatalf("pass %+v, want 3 rows expanded and 5 messages sent", p)
		}
		type msg struct{ To, Name, Language, Params string }
		var got []msg
		for _, m := range e.fake.Messages() {
			got = append(got, msg{m.To, m.Name, m.Language, strings.Join(m.BodyParams, "|")})
		}
		want := []msg{
			{digits(fatima.Phone), "resayil_credits_low", "ar", "١٢٠|https://portal.example/billing|120|https://portal.example/billing"},
			{digits(owner.Phone), "resayil_welcome", "ar", "Acme|Acme"},
			{digits(deputy.Phone), "resayil_welcome", "ar", "Acme|Acme"},
			{digits(ops.Phone), "resayil_cloud_budget_80", "ar", "400|500|400|500"},
			{"96550000007", "resayil_cloud_budget_80", "ar", "400|500|400|500"},
		}
		sortMsgs := func(ms []msg) {
			slices.SortFunc(ms, func(a, b msg) int { return strings.Compare(a.To, b.To) })
		}
		sortMsgs(got)
		sortMsgs(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("messages at the fake (-want +got):\n%s", diff)
		}
		for _, id := range []int64{personal, teamRow, admins} {
			if n := e.notification(id); n.Status != notify.NotificationExpanded {
				t.Errorf("notification %d is %s", id, n.Status)
			}
			for _, d := range e.deliveries(id) {
				if d.Status != "sent" || d.Attempts != 1 || !strings.HasPrefix(d.MessageID, "wamid.") {
					t.Errorf("delivery %+v", d)
				}
			}
		}
		if ds := e.deliveries(admins); len(ds) != 2 {
			t.Errorf("admin deliveries %+v, want the opted-in admin and the extra number once each", ds)
		}
		// Everything is sent: another pass does nothing.
		if p := run(t, w); p != (notify.Pass{}) || len(e.fake.Messages()) != 5 {
			t.Errorf("second pass %+v, %d messages", p, len(e.fake.Messages()))
		}
	})
}

// TestWorker_NoConsentNothingSent: without whatsapp_opt_in nothing is sent
// and the row says why; a password-reset code goes anyway, as an
// authentication template in the user's language with the copy code.
func TestWorker_NoConsentNothingSent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("credits_low", "resayil_credits_low", "ar", notify.CategoryUtility, 2)
		e.template(notify.EventPasswordResetCode, "resayil_reset_code", "en", notify.CategoryAuthentication, 1)
		u := e.user("+96550000011", false, resayil.RoleUser, resayil.LocaleAR)
		row := e.outbox("credits_low", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"120"}})
		reset := e.outbox(notify.EventPasswordResetCode, notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"482913"}})
		// Admins: none with a real number and consent, no extra numbers.
		e.user(notify.PlaceholderPhone, true, resayil.RoleAdmin, resayil.LocaleEN)
		alert := e.outbox("cloud_budget_80", notify.AudienceAdmins, 0, 0, notify.Payload{Params: []string{"1"}})

		p := run(t, e.worker(notify.Config{}))
		if p.Expanded != 1 || p.Skipped != 2 || p.Sent != 1 {
			t.Fatalf("pass %+v", p)
		}
		n := e.notification(row)
		if n.Status != notify.NotificationSkipped || !strings.Contains(n.LastError, "without WhatsApp consent") || len(e.deliveries(row)) != 0 {
			t.Errorf("row without consent: %s %q %+v", n.Status, n.LastError, e.deliveries(row))
		}
		if n := e.notification(alert); n.Status != notify.NotificationSkipped || !strings.Contains(n.LastError, "without a real phone number") {
			t.Errorf("admin row: %s %q", n.Status, n.LastError)
		}
		want := []fakewhatsapp.Message{{To: digits(u.Phone), Name: "resayil_reset_code", Language: "ar", BodyParams: []string{"482913"}, CopyCode: "482913"}}
		got := e.fake.Messages()
		for i := range got {
			got[i].ID = ""
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
		if ds := e.deliveries(reset); len(ds) != 1 || ds[0].Status != "sent" {
			t.Errorf("reset deliveries %+v", ds)
		}
		// The code was a secret only the send needed: it is gone from the row.
		var payload string
		if err := e.db.SQL.QueryRow(`SELECT payload FROM notifications WHERE id = ?`, reset).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(payload, "482913") {
			t.Errorf("the sent reset code is still in the outbox: %s", payload)
		}
		if n := e.notification(row); !strings.Contains(n.Payload, `"120"`) {
			t.Errorf("another event's payload changed: %s", n.Payload)
		}
	})
}

// TestWorker_ConcurrentWorkersSendEachOnce: two workers (two replicas)
// drain one queue at the same time; every delivery is sent exactly once.
func TestWorker_ConcurrentWorkersSendEachOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "ar", notify.CategoryUtility, 2)
		const users = 30
		var rows []int64
		for i := range users {
			u := e.user(fmt.Sprintf("+9655100%04d", i), true, resayil.RoleUser, resayil.LocaleEN)
			rows = append(rows, e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{fmt.Sprint(i)}}))
		}
		workers := []*notify.Worker{e.worker(notify.Config{Batch: 4}), e.worker(notify.Config{Batch: 4})}
		var wg sync.WaitGroup
		errs := make(chan error, len(workers))
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					p, err := w.RunOnce(context.Background())
					if err != nil {
						errs <- err
						return
					}
					if p.Claimed == 0 && p.Expanded == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// Each worker stops when it finds nothing; the other may still
		// have had work, so finish what is left and require nothing was.
		if p := run(t, workers[0]); p.Claimed != 0 || p.Expanded != 0 {
			t.Errorf("left over after both workers stopped: %+v", p)
		}
		msgs := e.fake.Messages()
		seen := map[string]int{}
		for _, m := range msgs {
			seen[m.To]++
		}
		if len(msgs) != users || len(seen) != users {
			t.Errorf("%d messages to %d numbers, want %d each once", len(msgs), len(seen), users)
		}
		if n := e.int(`SELECT COUNT(*) FROM notification_deliveries WHERE status = 'sent' AND attempts = 1`); n != users {
			t.Errorf("%d deliveries sent once, want %d", n, users)
		}
		for _, id := range rows {
			if ds := e.deliveries(id); len(ds) != 1 {
				t.Errorf("notification %d has %d deliveries", id, len(ds))
			}
		}
	})
}

// TestWorker_ThrottledIsRetriedWithBackoff: Meta's throughput limit puts
// the delivery back, due after the jittered backoff on the injected clock;
// a delivery that keeps failing fails for good at the last attempt.
func TestWorker_ThrottledIsRetriedWithBackoff(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		u := e.user("+96550000021", true, resayil.RoleUser, resayil.LocaleEN)
		row := e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"Fatima"}})
		w := e.worker(notify.Config{BackoffBase: 10 * time.Second, BackoffMax: time.Minute, MaxAttempts: 3})

		e.fake.FailNext(1, 130429, 400)
		start := e.clock.Now()
		if p := run(t, w); p.Retried != 1 || p.Sent != 0 {
			t.Fatalf("throttled pass %+v", p)
		}
		d := e.deliveries(row)[0]
		// Full jitter at 0.5 of base·2^0 = 5 s.
		if d.Status != "pending" || d.Attempts != 1 || !d.Next.Equal(start.Add(5*time.Second)) || !strings.Contains(d.LastError, "130429") {
			t.Fatalf("after throttling: %+v (started %s)", d, start)
		}
		e.clock.Advance(4 * time.Second)
		if p := run(t, w); p.Claimed != 0 {
			t.Fatalf("claimed before its backoff ended: %+v", p)
		}
		e.clock.Advance(time.Second)
		if p := run(t, w); p.Sent != 1 {
			t.Fatalf("after the backoff: %+v", p)
		}
		if d := e.deliveries(row)[0]; d.Status != "sent" || d.Attempts != 2 || d.LastError != "" {
			t.Errorf("sent on the second attempt: %+v", d)
		}

		// Three maintenance errors in a row: the second waits 0.5·20 s,
		// the third attempt is the last.
		u2 := e.user("+96550000022", true, resayil.RoleUser, resayil.LocaleEN)
		row2 := e.outbox("welcome", notify.AudienceUser, u2.Account, u2.ID, notify.Payload{Params: []string{"Ali"}})
		e.fake.FailNext(3, 131057, 503)
		run(t, w)
		e.clock.Advance(5 * time.Second)
		run(t, w)
		if d := e.deliveries(row2)[0]; d.Attempts != 2 || !d.Next.Equal(e.clock.Now().Add(10*time.Second)) {
			t.Fatalf("second backoff: %+v", d)
		}
		e.clock.Advance(10 * time.Second)
		if p := run(t, w); p.Failed != 1 {
			t.Fatalf("last attempt: %+v", p)
		}
		if d := e.deliveries(row2)[0]; d.Status != "failed" || d.Attempts != 3 || !strings.Contains(d.LastError, "gave up after 3 attempts") {
			t.Errorf("after the last attempt: %+v", d)
		}
		if n := len(e.fake.Messages()); n != 1 {
			t.Errorf("%d messages accepted, want 1", n)
		}
	})
}

// TestWorker_PermanentFailuresStop: an undeliverable number and a missing
// template fail at once and are never tried again.
func TestWorker_PermanentFailuresStop(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		u := e.user("+96550000031", true, resayil.RoleUser, resayil.LocaleEN)
		row := e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"Fatima"}})
		orphan := e.outbox("no_such_event", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"x"}})
		w := e.worker(notify.Config{})
		e.fake.FailNext(1, 131026, 400)
		if p := run(t, w); p.Failed != 2 || p.Sent != 0 {
			t.Fatalf("pass %+v", p)
		}
		if d := e.deliveries(row)[0]; d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.LastError, "131026") {
			t.Errorf("undeliverable: %+v", d)
		}
		if d := e.deliveries(orphan)[0]; d.Status != "failed" || !strings.Contains(d.LastError, `no WhatsApp template for event "no_such_event"`) {
			t.Errorf("no template: %+v", d)
		}
		e.clock.Advance(24 * time.Hour)
		if p := run(t, w); p.Claimed != 0 || len(e.fake.Messages()) != 0 {
			t.Errorf("a failed delivery was tried again: %+v", p)
		}
	})
}

// TestWorker_WrongTokenPausesAlertsOnceAndResumes: Meta refusing the token
// pauses sending without counting the attempt or touching the other
// queued deliveries, writes one admin alert, probes one delivery per
// interval, and the first accepted probe ends the pause.
func TestWorker_WrongTokenPausesAlertsOnceAndResumes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		e.template(notify.EventWhatsAppPaused, "resayil_whatsapp_paused", "en", notify.CategoryUtility, 2)
		var rows []int64
		for i := range 3 {
			u := e.user(fmt.Sprintf("+9655200000%d", i), true, resayil.RoleUser, resayil.LocaleEN)
			rows = append(rows, e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"x"}}))
		}
		const opsPhone = "+96550000099"
		cfg := notify.Config{AdminPhones: []string{opsPhone}, ProbeEvery: time.Minute}
		w := e.worker(cfg)
		e.fake.SetToken("rotated-token") // ours is now refused with 190

		p := run(t, w)
		if !p.Paused || p.Sent != 0 || p.Released != 3 {
			t.Fatalf("pass with a refused token: %+v", p)
		}
		attempts := func() []int {
			var out []int
			for _, id := range rows {
				d := e.deliveries(id)[0]
				if d.Status != "pending" {
					t.Errorf("delivery %d is %s while paused", d.ID, d.Status)
				}
				out = append(out, d.Attempts)
			}
			return out
		}
		if got := attempts(); !slices.Equal(got, []int{0, 0, 0}) {
			t.Errorf("attempts %v after the pause, want none counted", got)
		}
		st, err := e.store.Notify().State(context.Background())
		if err != nil || !st.Paused() || !strings.Contains(st.Reason, "190") || !st.PausedAt.Equal(e.clock.Now()) {
			t.Fatalf("state %+v, %v", st, err)
		}
		alerts := func() int64 {
			return e.int(`SELECT COUNT(*) FROM notifications WHERE event = ?`, notify.EventWhatsAppPaused)
		}
		if n := alerts(); n != 1 {
			t.Fatalf("%d alerts, want 1", n)
		}
		if !strings.Contains(e.logs.String(), "WhatsApp sending PAUSED") {
			t.Errorf("no error log of the pause:\n%s", e.logs.String())
		}

		// Before the probe interval: nothing is tried.
		e.clock.Advance(30 * time.Second)
		if p := run(t, w); p.Claimed != 0 || !p.Paused || p.Probe {
			t.Fatalf("pass before the probe interval: %+v", p)
		}
		// A second worker refused as well: still one alert.
		e.clock.Advance(30 * time.Second)
		p = run(t, e.worker(cfg))
		if !p.Probe || p.Claimed != 1 || !p.Paused || p.Sent != 0 {
			t.Fatalf("failed probe: %+v", p)
		}
		if n := alerts(); n != 1 {
			t.Errorf("%d alerts after a failed probe, want 1", n)
		}
		if got := attempts(); !slices.Equal(got, []int{0, 0, 0}) {
			t.Errorf("attempts %v after a failed probe", got)
		}

		// The operator puts the new token in (a restart with the fixed
		// variable); the next probe is accepted and ends the pause.
		fixed := e.worker(notify.Config{AdminPhones: cfg.AdminPhones, ProbeEvery: time.Minute, Sender: e.client("rotated-token", e.url)})
		e.clock.Advance(time.Minute)
		p = run(t, fixed)
		if !p.Resumed || p.Sent != 1 || p.Paused {
			t.Fatalf("successful probe: %+v", p)
		}
		if st, _ := e.store.Notify().State(context.Background()); st.Paused() {
			t.Fatalf("still paused: %+v", st)
		}
		p = run(t, fixed)
		if p.Sent != 3 { // the two other deliveries and the alert
			t.Fatalf("pass after resuming: %+v", p)
		}
		for _, id := range rows {
			if d := e.deliveries(id)[0]; d.Status != "sent" || d.Attempts != 1 {
				t.Errorf("after resuming: %+v", d)
			}
		}
		var toOps []fakewhatsapp.Message
		for _, m := range e.fake.Messages() {
			if m.To == digits(opsPhone) {
				toOps = append(toOps, m)
			}
		}
		if len(toOps) != 1 || toOps[0].Name != "resayil_whatsapp_paused" || len(toOps[0].BodyParams) != 2 || !strings.Contains(toOps[0].BodyParams[1], "190") {
			t.Errorf("alert messages to the admin number: %+v", toOps)
		}
	})
}

// TestWorker_ExpiredLeaseIsDueAgain: a worker that claimed a delivery and
// died leaves it sending; once the lease ends another worker sends it.
func TestWorker_ExpiredLeaseIsDueAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		u := e.user("+96550000041", true, resayil.RoleUser, resayil.LocaleEN)
		row := e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"x"}})
		w := e.worker(notify.Config{Lease: time.Minute})
		// Expand, then claim as a worker that crashes right after.
		if err := e.store.Notify().ExpandTx(context.Background(), func(tx notify.ExpandTx) error {
			ns, err := tx.DueNotifications(context.Background(), e.clock.Now(), 10)
			if err != nil || len(ns) != 1 {
				return fmt.Errorf("due %v, %v", ns, err)
			}
			return tx.Expand(context.Background(), ns[0], []notify.Recipient{{User: u.ID, Phone: u.Phone}}, e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		jobs, err := e.store.Notify().ClaimDeliveries(context.Background(), e.clock.Now(), e.clock.Now().Add(time.Minute), 10)
		if err != nil || len(jobs) != 1 || jobs[0].Template == nil || jobs[0].Template.Name != "resayil_welcome" {
			t.Fatalf("claim %+v, %v", jobs, err)
		}
		e.clock.Advance(59 * time.Second)
		if p := run(t, w); p.Claimed != 0 {
			t.Fatalf("claimed during another's lease: %+v", p)
		}
		e.clock.Advance(time.Second)
		if p := run(t, w); p.Sent != 1 {
			t.Fatalf("after the lease: %+v", p)
		}
		if d := e.deliveries(row)[0]; d.Status != "sent" || d.Attempts != 1 {
			t.Errorf("%+v", d)
		}
	})
}

// TestWorker_StopFinishesTheMessageInFlight: Run returns when its context
// ends; the message being sent then is recorded as sent, and the rest of
// its batch goes back to pending with no attempt counted.
func TestWorker_StopFinishesTheMessageInFlight(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		for i := range 3 {
			u := e.user(fmt.Sprintf("+9655300000%d", i), true, resayil.RoleUser, resayil.LocaleEN)
			e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"x"}})
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Shutdown begins while the first message is on its way to Meta.
		url := graph(t, e.fake, cancel)
		w := e.worker(notify.Config{Sender: e.client(token, url)})
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx, time.Hour) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		if n := len(e.fake.Messages()); n != 1 {
			t.Fatalf("%d messages, want the one in flight", n)
		}
		if n := e.int(`SELECT COUNT(*) FROM notification_deliveries WHERE status = 'sent' AND attempts = 1`); n != 1 {
			t.Errorf("%d deliveries recorded sent, want 1", n)
		}
		if n := e.int(`SELECT COUNT(*) FROM notification_deliveries WHERE status = 'pending' AND attempts = 0 AND lease_until IS NULL`); n != 2 {
			t.Errorf("%d deliveries back to pending, want 2", n)
		}
	})
}

// TestWorker_LeaseEndingLeavesTheRest: a batch whose sends are slow stops
// before a send could outlast its lease; the rest stays claimed until the
// lease ends, is then claimed again, and every delivery is sent once.
func TestWorker_LeaseEndingLeavesTheRest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.template("welcome", "resayil_welcome", "en", notify.CategoryUtility, 2)
		for i := range 3 {
			u := e.user(fmt.Sprintf("+9655400000%d", i), true, resayil.RoleUser, resayil.LocaleEN)
			e.outbox("welcome", notify.AudienceUser, u.Account, u.ID, notify.Payload{Params: []string{"x"}})
		}
		// Each send takes 31 s of a 60 s lease, with 30 s allowed per send.
		url := graph(t, e.fake, func() { e.clock.Advance(31 * time.Second) })
		w := e.worker(notify.Config{Sender: e.client(token, url), Lease: time.Minute, SendTimeout: 30 * time.Second})
		p := run(t, w)
		if p.Claimed != 3 || p.Sent != 1 || p.Expired != 2 {
			t.Fatalf("first pass %+v", p)
		}
		if n := e.int(`SELECT COUNT(*) FROM notification_deliveries WHERE status = 'sending'`); n != 2 {
			t.Fatalf("%d deliveries still claimed, want 2", n)
		}
		if p := run(t, w); p.Claimed != 0 {
			t.Fatalf("claimed during the lease: %+v", p)
		}
		for range 5 {
			e.clock.Advance(30 * time.Second)
			run(t, w)
		}
		if n := len(e.fake.Messages()); n != 3 {
			t.Errorf("%d messages, want 3", n)
		}
		if n := e.int(`SELECT COUNT(*) FROM notification_deliveries WHERE status = 'sent' AND attempts = 1`); n != 3 {
			t.Errorf("%d deliveries sent once, want 3", n)
		}
	})
}
