package notify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/whatsapp"
	"github.com/resayil/portal/portal-api/internal/notify"
)

func TestRecipients(t *testing.T) {
	user := notify.Notification{Event: "credits_low", Audience: notify.AudienceUser}
	admins := notify.Notification{Event: "cloud_budget_80", Audience: notify.AudienceAdmins}
	reset := notify.Notification{Event: notify.EventPasswordResetCode, Audience: notify.AudienceUser}
	for _, tc := range []struct {
		name   string
		n      notify.Notification
		cands  []notify.Candidate
		phones []string
		want   []notify.Recipient
		why    string
	}{
		{"opted in", user, []notify.Candidate{{User: 1, Phone: "+96550000001", OptIn: true}}, nil,
			[]notify.Recipient{{User: 1, Phone: "+96550000001"}}, ""},
		{"no consent", user, []notify.Candidate{{User: 1, Phone: "+96550000001"}}, nil,
			nil, "no recipient: 1 without WhatsApp consent (whatsapp_opt_in)"},
		{"a reset code needs no consent", reset, []notify.Candidate{{User: 1, Phone: "+96550000001"}}, nil,
			[]notify.Recipient{{User: 1, Phone: "+96550000001"}}, ""},
		{"disabled", reset, []notify.Candidate{{User: 1, Phone: "+96550000001", Disabled: true}}, nil,
			nil, "no recipient: 1 disabled"},
		{"no user", user, nil, nil, nil, "no recipient: the account has no user to notify"},
		{"team admins, one number twice", user, []notify.Candidate{
			{User: 1, Phone: "+96550000001", OptIn: true}, {User: 2, Phone: "96550000001", OptIn: true}, {User: 3, Phone: "+96550000003", OptIn: true},
		}, nil, []notify.Recipient{{User: 1, Phone: "+96550000001"}, {User: 3, Phone: "+96550000003"}}, ""},
		{"admins: placeholder, no consent, configured numbers deduplicated", admins, []notify.Candidate{
			{User: 1, Phone: notify.PlaceholderPhone, OptIn: true}, {User: 2, Phone: "+96550000002"}, {User: 3, Phone: "+96550000003", OptIn: true},
		}, []string{"+96550000003", "96550000004", notify.PlaceholderPhone, "not a number"},
			[]notify.Recipient{{User: 3, Phone: "+96550000003"}, {Phone: "+96550000004"}}, ""},
		{"admins: nobody", admins, []notify.Candidate{{User: 1, Phone: notify.PlaceholderPhone, OptIn: true}}, nil,
			nil, "no recipient: 1 without a real phone number; RESAYIL_ADMIN_PHONES adds none"},
		{"admins: no admin user, no numbers", admins, nil, nil, nil, "no recipient: no admin user, and RESAYIL_ADMIN_PHONES is empty"},
		{"admins: only configured numbers", admins, nil, []string{"+96550000009"}, []notify.Recipient{{Phone: "+96550000009"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := notify.Recipients(tc.n, tc.cands, tc.phones)
			if diff := cmp.Diff(tc.want, got); diff != "" || why != tc.why {
				t.Errorf("recipients (-want +got):\n%s\nreason %q, want %q", diff, why, tc.why)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+96550000001": "+96550000001", " 96550000001 ": "+96550000001", "0096550000001": "", "+965 5000": "",
		"+1234567": "", "+1234567890123456": "", "": "",
	} {
		got, ok := notify.NormalizePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestMessage(t *testing.T) {
	utility := &notify.Template{Event: "credits_low", Name: "resayil_credits_low", LanguageCode: "ar", Category: notify.CategoryUtility, ParamCount: 4}
	auth := &notify.Template{Event: notify.EventPasswordResetCode, Name: "resayil_reset_code", LanguageCode: "en", Category: notify.CategoryAuthentication, ParamCount: 1}
	job := func(tpl *notify.Template, payload string, locale resayil.Locale) notify.Job {
		return notify.Job{Delivery: notify.Delivery{Phone: "+96550000001"}, Notification: notify.Notification{Event: "e", Payload: payload},
			Template: tpl, UserLocale: locale}
	}
	for _, tc := range []struct {
		name string
		job  notify.Job
		want whatsapp.Template
		err  string
	}{
		{"both halves from params", job(utility, `{"params":["120","https://x"]}`, resayil.LocaleEN),
			whatsapp.Template{To: "+96550000001", Name: "resayil_credits_low", Language: "ar", BodyParams: []string{"120", "https://x", "120", "https://x"}}, ""},
		{"the Arabic half from params_ar", job(utility, `{"params":["120","https://x"],"params_ar":["١٢٠","https://x"],"data":{"k":1}}`, ""),
			whatsapp.Template{To: "+96550000001", Name: "resayil_credits_low", Language: "ar", BodyParams: []string{"١٢٠", "https://x", "120", "https://x"}}, ""},
		{"wrong count", job(utility, `{"params":["120"]}`, ""), whatsapp.Template{}, "takes 4 parameters, the payload gives 2"},
		{"no template", job(nil, `{"params":[]}`, ""), whatsapp.Template{}, `no WhatsApp template for event "e"`},
		{"bad payload", job(utility, `{`, ""), whatsapp.Template{}, "payload is not the outbox's JSON"},
		{"code in the user's language", job(auth, `{"params":["482913"]}`, resayil.LocaleAR),
			whatsapp.Template{To: "+96550000001", Name: "resayil_reset_code", Language: "ar", BodyParams: []string{"482913"}, CopyCode: "482913"}, ""},
		{"code in the template's language without a user locale", job(auth, `{"params":["482913"]}`, ""),
			whatsapp.Template{To: "+96550000001", Name: "resayil_reset_code", Language: "en", BodyParams: []string{"482913"}, CopyCode: "482913"}, ""},
		{"code missing", job(auth, `{"params":[]}`, resayil.LocaleAR), whatsapp.Template{}, "takes exactly one code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := notify.Message(tc.job)
			if tc.err != "" {
				var ns *notify.ErrNotSendable
				if !errors.As(err, &ns) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
