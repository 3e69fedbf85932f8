package store

import (
	"context"
	"fmt"
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

// defaultTemplates are the WhatsApp utility templates of the roadmap, one per
// event and locale. Placeholders are positional ({{1}}, {{2}}) because
// WhatsApp Cloud API message templates number their parameters.
var defaultTemplates = []struct{ event, en, ar string }{
	{"welcome", "Welcome to Resayil, {{1}}! Your account is ready.", "أهلاً بك في رسايل يا {{1}}! حسابك جاهز."},
	{"subscription_confirmed", "Your {{1}} plan is active until {{2}}. {{3}} credits were added.", "تم تفعيل باقة {{1}} حتى {{2}}. أُضيف {{3}} رصيد."},
	{"credits_low", "You have {{1}} credits left (20% or less). Top up: {{2}}", "تبقى لديك {{1}} رصيد (20٪ أو أقل). اشحن رصيدك: {{2}}"},
	{"credits_exhausted", "Your credits are used up. Top up to continue: {{1}}", "نفد رصيدك. اشحن للمتابعة: {{1}}"},
	{"topup_confirmed", "{{1}} credits were added. Your balance is {{2}}.", "أُضيف {{1}} رصيد. رصيدك الآن {{2}}."},
	{"renewal_reminder", "Your {{1}} plan ends on {{2}}. Renew: {{3}}", "تنتهي باقة {{1}} في {{2}}. جدّد اشتراكك: {{3}}"},
	{"cloud_budget_80", "Cloud budget: {{1}} of {{2}} requests used today (80%).", "ميزانية السحابة: استُخدم {{1}} من {{2}} طلب اليوم (80٪)."},
	{"cloud_budget_100", "Cloud budget exhausted: {{1}} requests today. Cloud is off until midnight Kuwait time.", "نفدت ميزانية السحابة: {{1}} طلب اليوم. السحابة متوقفة حتى منتصف الليل بتوقيت الكويت."},
	{"ip_banned", "fail2ban banned {{1}} ({{2}}).", "حظر fail2ban العنوان {{1}} ({{2}})."},
	{"enterprise_customer", "New Enterprise customer: {{1}} ({{2}}).", "عميل مؤسسات جديد: {{1}} ({{2}})."},
	{"payment_needs_review", "Payment {{1}} needs review: {{2}}.", "الدفعة {{1}} تحتاج مراجعة: {{2}}."},
}

// seedTemplates inserts each missing (event, locale) template.
func (s *Store) seedTemplates(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for _, t := range defaultTemplates {
		for _, v := range []struct{ locale, body string }{{"en", t.en}, {"ar", t.ar}} {
			created, err := insertMissing(s.conn(ctx), &templateRow{}, func() any {
				return &templateRow{Event: t.event, Locale: v.locale, Channel: "whatsapp", ProviderTemplate: "resayil_" + t.event, Body: v.body, CreatedAt: now, UpdatedAt: now}
			}, "event = ? AND locale = ? AND channel = ?", t.event, v.locale, "whatsapp")
			if err != nil {
				return n, fmt.Errorf("seed template %s/%s: %w", t.event, v.locale, err)
			}
			if created {
				n++
			}
		}
	}
	return n, nil
}
