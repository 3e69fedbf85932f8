package store

import (
	"context"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

func TestBuildTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, category, ar, en string
		count                  int
		body, err              string
	}{
		{name: "renumbersTheEnglishHalf", category: CategoryUtility,
			ar: "باقة {{1}} حتى {{2}} فقط.", en: "Plan {{1}} until {{2}} only.",
			count: 4, body: "باقة {{1}} حتى {{2}} فقط.\n\nPlan {{3}} until {{4}} only."},
		{name: "anyOrder", category: CategoryUtility,
			ar: "من {{2}} إلى {{1}} الآن.", en: "From {{2}} to {{1}} now.",
			count: 4, body: "من {{2}} إلى {{1}} الآن.\n\nFrom {{4}} to {{3}} now."},
		{name: "noParameters", category: CategoryUtility, ar: "مرحباً.", en: "Hello.", count: 0, body: "مرحباً.\n\nHello."},
		{name: "authentication", category: CategoryAuthentication,
			ar: "{{1}} هو رمز التحقق.", en: "{{1}} is your code.", count: 1},
		{name: "gap", category: CategoryUtility, ar: "أ {{1}} ب {{3}} ج", en: "a {{1}} b {{2}} c",
			err: "ar half has placeholders {{1}}, {{3}}: they must be {{1}} to {{2}}, each once, without gaps"},
		{name: "repeat", category: CategoryUtility, ar: "أ {{1}} ب {{2}} ج", en: "a {{1}} b {{1}} c",
			err: "en half has placeholders {{1}}, {{1}}: they must be {{1}} to {{2}}"},
		{name: "fromZero", category: CategoryUtility, ar: "أ {{0}} ب", en: "a {{0}} b", err: "ar half has placeholders {{0}}"},
		{name: "malformed", category: CategoryUtility, ar: "أ {{1}} ب", en: "a {{ 1 }} b", err: "en half has a malformed placeholder"},
		{name: "startsWithOne", category: CategoryUtility, ar: "{{1}} مرحباً", en: "Hello {{1}} there", err: "ar half starts with the placeholder {{1}}"},
		{name: "endsWithOne", category: CategoryUtility, ar: "أهلاً {{1}} بك", en: "Top up at {{1}}.", err: "en half ends with the placeholder {{1}}"},
		{name: "sideBySide", category: CategoryUtility, ar: "أ {{1}} ب {{2}} ج", en: "Banned {{1}} ({{2}}) today", err: "en half has no words between {{1}} and {{2}}"},
		{name: "emptyHalf", category: CategoryUtility, ar: " ", en: "Hello.", err: "ar half is empty"},
		{name: "differentCounts", category: CategoryUtility, ar: "أ {{1}} ب", en: "a {{1}} b {{2}} c",
			err: "has 1 parameters in the ar half and 2 in the en half"},
		{name: "authenticationTakesTheCodeAlone", category: CategoryAuthentication, ar: "{{1}} رمز {{2}}", en: "{{1}} code", err: "ar half has 2 placeholders"},
		{name: "tooLong", category: CategoryUtility, ar: strings.Repeat("ب", 600), en: strings.Repeat("b", 430), err: "a body of 1032 characters"},
		{name: "unknownCategory", category: "marketing", ar: "أ", en: "a", err: `has the category "marketing"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, body, err := buildTemplate(tc.category, tc.ar, tc.en)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || n != tc.count || body != tc.body {
				t.Fatalf("got %d, %q, %v; want %d, %q", n, body, err, tc.count, tc.body)
			}
		})
	}
}

// registered is a whatsapp_templates row as the tests read it.
type registered struct {
	name, language, category string
	params                   int
}

func registry(t *testing.T, s *Store) map[string]registered {
	t.Helper()
	var rows []whatsappTemplateRow
	if err := s.conn(context.Background()).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]registered{}
	for _, r := range rows {
		out[r.Event] = registered{r.Name, r.LanguageCode, r.Category, r.ParamCount}
	}
	return out
}

// TestSeed_RegistersEveryEvent: the seed records every event's template,
// its parameters the Arabic half's plus the English half's (the code alone
// for the authentication template), and a second seed changes nothing.
func TestSeed_RegistersEveryEvent(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			s := New(db)
			ctx := context.Background()
			res, err := s.Seed(ctx, AdminSeed{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Templates != 2*14 {
				t.Errorf("seeded %d halves, want 28", res.Templates)
			}
			want := map[string]registered{}
			for event, params := range map[string]int{
				"welcome": 2, "subscription_confirmed": 6, "credits_low": 4, "credits_exhausted": 2, "topup_confirmed": 4,
				"renewal_reminder": 6, "cloud_budget_80": 4, "cloud_budget_100": 2, "ip_banned": 4, "enterprise_customer": 4,
				"payment_needs_review": 4, "team_invitation": 6, "whatsapp_paused": 2,
			} {
				want[event] = registered{"resayil_" + event, "ar", "utility", params}
			}
			want["password_reset_code"] = registered{"resayil_password_reset_code", "ar", "authentication", 1}
			got := registry(t, s)
			for event, w := range want {
				if got[event] != w {
					t.Errorf("%s: %+v, want %+v", event, got[event], w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d templates registered, want %d", len(got), len(want))
			}

			tpls, err := s.WhatsAppTemplates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, tpl := range tpls {
				if tpl.Event == "welcome" && tpl.Body != "أهلاً بك في رسايل يا {{1}}، حسابك جاهز الآن.\n\nWelcome to Resayil, {{2}}! Your account is ready." {
					t.Errorf("welcome body %q", tpl.Body)
				}
				if tpl.Event == "password_reset_code" && (tpl.Body != "" || !strings.HasPrefix(tpl.English, "{{1}} is your verification code.")) {
					t.Errorf("authentication template %+v", tpl)
				}
			}

			var before []whatsappTemplateRow
			s.conn(ctx).Order("event").Find(&before)
			res, err = s.Seed(ctx, AdminSeed{})
			if err != nil || res.Templates != 0 {
				t.Fatalf("second seed: %+v, %v", res, err)
			}
			var after []whatsappTemplateRow
			s.conn(ctx).Order("event").Find(&after)
			if len(after) != len(before) {
				t.Fatalf("%d rows, then %d", len(before), len(after))
			}
			for i := range after {
				if !after[i].UpdatedAt.Equal(before[i].UpdatedAt) || after[i].ParamCount != before[i].ParamCount {
					t.Errorf("a second seed changed %s: %+v -> %+v", after[i].Event, before[i], after[i])
				}
			}
		})
	}
}

// TestSeed_ChecksTheHalves: the seed reads the halves as they stand (an
// operator may have edited them), refuses, naming the event, a half Meta
// would refuse, and then records nothing; it keeps a valid edit and
// counts its parameters; it brings up to date a half that still holds a
// former default, and puts back a half that is gone.
func TestSeed_ChecksTheHalves(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			s := New(db)
			ctx := context.Background()
			if _, err := s.Seed(ctx, AdminSeed{}); err != nil {
				t.Fatal(err)
			}
			setHalf := func(event, locale, body string) {
				t.Helper()
				if err := s.conn(ctx).Exec(`UPDATE notification_templates SET body = ? WHERE event = ? AND locale = ?`, body, event, locale).Error; err != nil {
					t.Fatal(err)
				}
			}
			half := func(event, locale string) string {
				t.Helper()
				var body string
				if err := s.conn(ctx).Raw(`SELECT body FROM notification_templates WHERE event = ? AND locale = ?`, event, locale).Scan(&body).Error; err != nil {
					t.Fatal(err)
				}
				return body
			}

			// Refused: a gap, and a body ending with a placeholder; both named.
			setHalf("renewal_reminder", "en", "Your {{1}} plan ends on {{3}}. Renew soon.")
			setHalf("credits_exhausted", "ar", "اشحن رصيدك من {{1}}")
			_, err := s.Seed(ctx, AdminSeed{Email: "admin@example.com", Name: "Admin", PasswordHash: "x"})
			for _, want := range []string{"template renewal_reminder: en half has placeholders {{1}}, {{3}}", "template credits_exhausted: ar half ends with the placeholder {{1}}"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("seed error %v, want it to say %q", err, want)
				}
			}
			if exists, _ := s.UserExists(ctx, "admin@example.com"); exists {
				t.Error("a refused seed still created the admin: it is one transaction")
			}

			// A valid edit is kept and counted: three parameters a half.
			setHalf("renewal_reminder", "en", "Your {{1}} plan ends on {{2}} at {{3}} o'clock. Renew soon.")
			setHalf("renewal_reminder", "ar", "تنتهي باقة {{1}} يوم {{2}} الساعة {{3}} تماماً.")
			setHalf("credits_exhausted", "ar", "اشحن رصيدك من {{1}} للمتابعة.")
			// A former default is no edit: brought up to date.
			setHalf("subscription_confirmed", "en", "Your {{1}} plan is active until {{2}}. {{3}} credits were added.")
			// A missing half is put back.
			if err := s.conn(ctx).Exec(`DELETE FROM notification_templates WHERE event = 'welcome' AND locale = 'ar'`).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.conn(ctx).Exec(`UPDATE whatsapp_templates SET param_count = 99 WHERE event = 'topup_confirmed'`).Error; err != nil {
				t.Fatal(err)
			}
			res, err := s.Seed(ctx, AdminSeed{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Templates != 1 {
				t.Errorf("seed put back %d halves, want 1", res.Templates)
			}
			if got := half("renewal_reminder", "en"); got != "Your {{1}} plan ends on {{2}} at {{3}} o'clock. Renew soon." {
				t.Errorf("the operator's edit was overwritten: %q", got)
			}
			spec, _ := templateSpecOf("subscription_confirmed")
			if got := half("subscription_confirmed", "en"); got != spec.en {
				t.Errorf("a former default was kept: %q", got)
			}
			if got := half("welcome", "ar"); got != "أهلاً بك في رسايل يا {{1}}، حسابك جاهز الآن." {
				t.Errorf("the missing half came back as %q", got)
			}
			reg := registry(t, s)
			if reg["renewal_reminder"].params != 6 || reg["topup_confirmed"].params != 4 {
				t.Errorf("parameter counts not taken from the halves: %+v, %+v", reg["renewal_reminder"], reg["topup_confirmed"])
			}
		})
	}
}

// TestSeed_AdminPhone: without a phone the admin gets the placeholder and
// no consent; a later seed with a number replaces the placeholder and opts
// the admin in, and never replaces a real number.
func TestSeed_AdminPhone(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			s := New(db)
			ctx := context.Background()
			admin := func(email string) (string, bool) {
				t.Helper()
				var row userRow
				if err := s.conn(ctx).Where(byEmail, emailKeyArgs(email)...).Take(&row).Error; err != nil {
					t.Fatal(err)
				}
				if row.Role != string(resayil.RoleAdmin) {
					t.Errorf("role %q", row.Role)
				}
				return row.Phone, row.WhatsAppOptIn
			}
			seed := func(email, phone string) SeedResult {
				t.Helper()
				res, err := s.Seed(ctx, AdminSeed{Email: email, Name: "Administrator", Phone: phone, PasswordHash: "hash"})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}

			if res := seed("a@example.com", ""); !res.AdminCreated || res.AdminPhoneSet {
				t.Errorf("first seed %+v", res)
			}
			if phone, in := admin("a@example.com"); phone != resayil.PlaceholderPhone || in {
				t.Errorf("admin without a phone: %s, opted in %v", phone, in)
			}
			if res := seed("a@example.com", "+96512345678"); res.AdminCreated || !res.AdminPhoneSet {
				t.Errorf("seed with a phone %+v", res)
			}
			if phone, in := admin("a@example.com"); phone != "+96512345678" || !in {
				t.Errorf("admin after RESAYIL_ADMIN_PHONE: %s, opted in %v", phone, in)
			}
			if res := seed("a@example.com", "+96599999999"); res.AdminPhoneSet {
				t.Errorf("a real number was replaced: %+v", res)
			}
			if phone, _ := admin("a@example.com"); phone != "+96512345678" {
				t.Errorf("phone %s", phone)
			}

			seed("b@example.com", "+14155550123")
			if phone, in := admin("b@example.com"); phone != "+14155550123" || !in {
				t.Errorf("admin created with a phone: %s, opted in %v", phone, in)
			}
			var welcomes int64
			s.conn(ctx).Raw(`SELECT COUNT(*) FROM notifications WHERE event = 'welcome'`).Scan(&welcomes)
			if welcomes != 0 {
				t.Errorf("%d welcome rows for seeded admins", welcomes)
			}
		})
	}
}
