package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

type templateRow struct {
	ID               int64 `gorm:"primaryKey"`
	Event            string
	Locale           string
	Channel          string
	ProviderTemplate string
	Body             string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (templateRow) TableName() string { return "notification_templates" }

// Template categories, as whatsapp_templates.category stores them and as
// they are chosen when the template is created with Meta.
const (
	CategoryUtility        = "utility"
	CategoryAuthentication = "authentication"
)

// Who an event goes to (notifications.audience).
const (
	AudienceUser   = "user"
	AudienceAdmins = "admins"
)

// TemplateLanguage is the language code every template is recorded under
// in whatsapp_templates: a utility template's body opens with its Arabic
// half. The authentication template is registered under both ar and en
// with one name and sent in the user's language (see
// docs/notification-templates.md); the table keeps one row per event, so
// it is recorded as ar too.
const TemplateLanguage = "ar"

// TemplateName is the name an event's template is registered under.
func TemplateName(event string) string { return "resayil_" + event }

// templateSpec is one event's template as the seed defines it: its two
// halves (the ar and en rows of notification_templates) and, for the
// operator's document, whom it goes to, what writes it and example
// parameters.
type templateSpec struct {
	event    string
	category string
	audience string
	// trigger says what writes the event, with its dedupe key.
	trigger string
	ar, en  string
	// example holds one value per parameter of a half: both halves take
	// the same parameters in the same order (checkTemplate), so an event
	// writes them once (payload "params").
	example []string
	// former are bodies an earlier seed wrote. A row that still holds one
	// is no operator's edit, so the seed brings it up to date.
	former []string
}

// defaultTemplates are the WhatsApp templates of every notification event,
// in the order docs/notification-templates.md lists them. Placeholders are
// positional ({{1}}, {{2}}): WhatsApp numbers a template's parameters. A
// utility half neither starts nor ends with a placeholder, and two
// placeholders always have words between them: Meta refuses templates
// that break either rule.
var defaultTemplates = []templateSpec{
	{
		event: "welcome", category: CategoryUtility, audience: AudienceUser,
		trigger: "Registration (`POST /api/v1/auth/register`), once per user: `welcome:user:<user id>`.",
		ar:      "أهلاً بك في رسايل يا {{1}}، حسابك جاهز الآن.",
		en:      "Welcome to Resayil, {{1}}! Your account is ready.",
		example: []string{"Fatima"},
		former:  []string{"أهلاً بك في رسايل يا {{1}}! حسابك جاهز."},
	},
	{
		event: "subscription_confirmed", category: CategoryUtility, audience: AudienceUser,
		trigger: "A paid subscription payment, once per payment: `subscription_confirmed:payment:<payment id>`. Parameters: the plan's name, the expiry as a Kuwait date, the credits granted.",
		ar:      "تم تفعيل باقة {{1}} في رسايل حتى يوم {{2}} بتوقيت الكويت، وأُضيف إلى حسابك {{3}} رصيد.",
		en:      "Your Resayil {{1}} plan is active until {{2}} (Kuwait time), and {{3}} credits were added to your account.",
		example: []string{"Pro", "2025-04-01", "20000"},
		former: []string{"Your {{1}} plan is active until {{2}}. {{3}} credits were added.",
			"تم تفعيل باقة {{1}} حتى {{2}}. أُضيف {{3}} رصيد."},
	},
	{
		event: "credits_low", category: CategoryUtility, audience: AudienceUser,
		trigger: "The balance falls to a fifth of the period's credits or below, once per period (every grant starts one). Parameters: the credits left, the top-up link.",
		ar:      "تنبيه من رسايل: تبقى لديك {{1}} رصيد، أي 20٪ أو أقل من رصيد هذه الفترة. اشحن رصيدك من {{2}} لتستمر دون انقطاع.",
		en:      "Resayil: you have {{1}} credits left, 20% or less of this period's credits. Top up at {{2}} to keep going without interruption.",
		example: []string{"950", "https://portal.example.com/billing"},
		former: []string{"You have {{1}} credits left (20% or less). Top up: {{2}}",
			"تبقى لديك {{1}} رصيد (20٪ أو أقل). اشحن رصيدك: {{2}}"},
	},
	{
		event: "credits_exhausted", category: CategoryUtility, audience: AudienceUser,
		trigger: "The balance is used up, once per period (every grant starts one). Parameter: the top-up link.",
		ar:      "نفد رصيدك في رسايل، ولن تُقبل طلبات جديدة حتى تشحن. اشحن رصيدك من {{1}} للمتابعة.",
		en:      "Your Resayil credits are used up, so new requests are refused until you top up. Top up at {{1}} to continue.",
		example: []string{"https://portal.example.com/billing"},
		former:  []string{"Your credits are used up. Top up to continue: {{1}}", "نفد رصيدك. اشحن للمتابعة: {{1}}"},
	},
	{
		event: "topup_confirmed", category: CategoryUtility, audience: AudienceUser,
		trigger: "A paid top-up payment, once per payment: `topup_confirmed:payment:<payment id>`. Parameters: the credits added, the balance after them.",
		ar:      "تم شحن رصيدك في رسايل: أُضيف {{1}} رصيد، وأصبح رصيدك {{2}} رصيد.",
		en:      "Your Resayil top-up is confirmed: {{1}} credits were added and your balance is now {{2}} credits.",
		example: []string{"5000", "5950"},
		former:  []string{"{{1}} credits were added. Your balance is {{2}}.", "أُضيف {{1}} رصيد. رصيدك الآن {{2}}."},
	},
	{
		event: "renewal_reminder", category: CategoryUtility, audience: AudienceUser,
		trigger: "From 09:00 Kuwait time three Kuwait days before a subscription's expiry day (the renewal-reminders job), once per subscription (each purchase is one): `renewal_reminder:subscription:<subscription id>`. Parameters: the plan's name, the expiry as a Kuwait date, the billing link.",
		ar:      "تنتهي باقة {{1}} في رسايل يوم {{2}} ولا تتجدد تلقائياً. جدّد اشتراكك من {{3}} لتحتفظ بنماذجها وحدودها.",
		en:      "Your Resayil {{1}} plan ends on {{2}} and does not renew by itself. Renew at {{3}} to keep its models and limits.",
		example: []string{"Pro", "2025-04-01", "https://portal.example.com/billing"},
		former:  []string{"Your {{1}} plan ends on {{2}}. Renew: {{3}}", "تنتهي باقة {{1}} في {{2}}. جدّد اشتراكك: {{3}}"},
	},
	{
		event: "cloud_budget_80", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "The day's cloud requests reach 80 % of the daily budget (the gateway), once per Kuwait day: `cloud_budget_80:<day>`. Parameters: the requests used, the day's cap.",
		ar:      "تنبيه للمشرفين: استُخدم {{1}} من أصل {{2}} طلب سحابي اليوم، أي 80٪ من الميزانية اليومية.",
		en:      "Admin alert: {{1}} of today's {{2}} cloud requests are used, 80% of the daily budget.",
		example: []string{"400", "500"},
		former:  []string{"Cloud budget: {{1}} of {{2}} requests used today (80%).", "ميزانية السحابة: استُخدم {{1}} من {{2}} طلب اليوم (80٪)."},
	},
	{
		event: "cloud_budget_100", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "The day's cloud requests reach the daily budget (the gateway), once per Kuwait day: `cloud_budget_100:<day>`. Parameter: the day's cap.",
		ar:      "تنبيه للمشرفين: نفدت ميزانية السحابة اليومية البالغة {{1}} طلب، والسحابة متوقفة حتى منتصف الليل بتوقيت الكويت.",
		en:      "Admin alert: the daily cloud budget of {{1}} requests is used up. The cloud is off until midnight Kuwait time.",
		example: []string{"500"},
		former: []string{"Cloud budget exhausted: {{1}} requests today. Cloud is off until midnight Kuwait time.",
			"نفدت ميزانية السحابة: {{1}} طلب اليوم. السحابة متوقفة حتى منتصف الليل بتوقيت الكويت."},
	},
	{
		event: "ip_banned", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "fail2ban bans an address. Parameters: the address, the fail2ban jail.",
		ar:      "تنبيه للمشرفين: حظر fail2ban العنوان {{1}} بقاعدة {{2}} على خوادم رسايل.",
		en:      "Admin alert: fail2ban banned the address {{1}} in the jail {{2}} on the Resayil servers.",
		example: []string{"203.0.113.7", "portal-login"},
		former:  []string{"fail2ban banned {{1}} ({{2}}).", "حظر fail2ban العنوان {{1}} ({{2}})."},
	},
	{
		event: "enterprise_customer", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "A user's first paid Enterprise subscription, once per user (a renewal or a later team account of the same user does not alert again): `enterprise_customer:user:<user id>`. Parameters: the user's name, their e-mail.",
		ar:      "تنبيه للمشرفين: اشترك {{1}} صاحب البريد {{2}} في باقة المؤسسات لأول مرة.",
		en:      "Admin alert: {{1}}, e-mail {{2}}, subscribed to the Enterprise plan for the first time.",
		example: []string{"Fatima Al-Sabah", "fatima@example.com"},
		former:  []string{"New Enterprise customer: {{1}} ({{2}}).", "عميل مؤسسات جديد: {{1}} ({{2}})."},
	},
	{
		event: "payment_needs_review", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "MyFatoorah reports a payment paid that does not match our record (nothing is credited), once per payment: `payment_needs_review:payment:<payment id>`. Parameters: the payment id, the reason.",
		ar:      "تنبيه للمشرفين: الدفعة رقم {{1}} بانتظار المراجعة ولم يُضف أي رصيد، والسبب: {{2}}. راجعها في لوحة المشرفين.",
		en:      "Admin alert: payment {{1}} needs review and nothing was credited. Reason: {{2}}. Review it in the admin dashboard.",
		example: []string{"42", "invoice 1000042 was paid 1.000, the price is 2.500 KWD"},
		former:  []string{"Payment {{1}} needs review: {{2}}.", "الدفعة {{1}} تحتاج مراجعة: {{2}}."},
	},
	{
		event: "team_invitation", category: CategoryUtility, audience: AudienceUser,
		trigger: "A team admin invites an existing user to an Enterprise team; sent only to a user who opted in. Parameters: the inviter's name, the team's name, the link that accepts.",
		ar:      "رسايل: دعاك {{1}} للانضمام إلى فريق {{2}}. افتح {{3}} لقبول الدعوة.",
		en:      "Resayil: {{1}} invited you to join the team {{2}}. Open {{3}} to accept the invitation.",
		example: []string{"Fatima Al-Sabah", "Acme Labs", "https://portal.example.com/teams/invitations/abc123"},
	},
	{
		event: "whatsapp_paused", category: CategoryUtility, audience: AudienceAdmins,
		trigger: "The sender paused all sending because Meta refused the access token; the alert itself can go out only once a working token is set. Parameter: why, as Meta said it.",
		ar:      "تنبيه للمشرفين: أوقفت رسايل إرسال رسائل واتساب لأن Meta رفضت رمز الوصول، والسبب: {{1}}. حدّث الرمز ثم استأنف الإرسال من لوحة المشرفين.",
		en:      "Admin alert: Resayil paused sending WhatsApp messages because Meta refused the access token. Reason: {{1}}. Update the token, then resume sending from the admin dashboard.",
		example: []string{"Error validating access token: Session has expired"},
	},
	{
		// WhatsApp fixes an authentication template's text; these rows
		// are that text, for reference and for the check. Each is one
		// language, with the code as its one parameter.
		event: "password_reset_code", category: CategoryAuthentication, audience: AudienceUser,
		trigger: "A password reset by phone asks for a code; sent whether or not the user opted in (they asked for it). Parameter: the six-digit code, also the copy-code button's.",
		ar:      "{{1}} هو رمز التحقق الخاص بك. للحفاظ على أمانك، لا تشارك هذا الرمز.",
		en:      "{{1}} is your verification code. For your security, do not share this code.",
		example: []string{"482913"},
	},
}

// templateSpecOf returns the seed's spec of event.
func templateSpecOf(event string) (templateSpec, bool) {
	i := slices.IndexFunc(defaultTemplates, func(t templateSpec) bool { return t.event == event })
	if i < 0 {
		return templateSpec{}, false
	}
	return defaultTemplates[i], true
}

// seedTemplates inserts each missing (event, locale) half, brings up to
// date a half that still holds a former default, and then records every
// event's WhatsApp template (seedRegistry). It returns how many halves it
// inserted.
func (s *Store) seedTemplates(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for _, t := range defaultTemplates {
		for _, v := range []struct{ locale, body string }{{"en", t.en}, {"ar", t.ar}} {
			created, err := insertMissing(s.conn(ctx), &templateRow{}, func() any {
				return &templateRow{Event: t.event, Locale: v.locale, Channel: "whatsapp", ProviderTemplate: TemplateName(t.event), Body: v.body, CreatedAt: now, UpdatedAt: now}
			}, "event = ? AND locale = ? AND channel = ?", t.event, v.locale, "whatsapp")
			if err != nil {
				return n, fmt.Errorf("seed template %s/%s: %w", t.event, v.locale, err)
			}
			if created {
				n++
				continue
			}
			if len(t.former) > 0 {
				if err := s.conn(ctx).Model(&templateRow{}).
					Where("event = ? AND locale = ? AND channel = ? AND body IN ?", t.event, v.locale, "whatsapp", t.former).
					Updates(map[string]any{"body": v.body, "updated_at": now}).Error; err != nil {
					return n, fmt.Errorf("update template %s/%s: %w", t.event, v.locale, err)
				}
			}
		}
	}
	return n, s.seedRegistry(ctx, now)
}
