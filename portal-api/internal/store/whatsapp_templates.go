package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// whatsappTemplateRow is a row of whatsapp_templates: the template an
// event is sent as (migration 00006 explains the table).
type whatsappTemplateRow struct {
	Event        string `gorm:"primaryKey"`
	Name         string
	LanguageCode string
	Category     string
	ParamCount   int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (whatsappTemplateRow) TableName() string { return "whatsapp_templates" }

// WhatsAppTemplate is an event's registered template with its two halves.
type WhatsAppTemplate struct {
	Event    string
	Name     string
	Language string
	Category string
	// ParamCount is how many body parameters a send carries: the Arabic
	// half's then the English half's for a utility template, the code
	// alone for an authentication template.
	ParamCount int
	// Arabic and English are the halves (notification_templates, locales
	// ar and en).
	Arabic, English string
	// Body is what a utility template is registered with: the Arabic half,
	// a blank line, and the English half with its placeholders numbered on
	// from the Arabic half's. Empty for an authentication template, whose
	// text WhatsApp fixes in each language.
	Body string
}

// MaxTemplateBody is the longest body Meta accepts, in characters.
const MaxTemplateBody = 1024

// halfSeparator joins a utility template's halves.
const halfSeparator = "\n\n"

var placeholder = regexp.MustCompile(`\{\{([0-9]+)\}\}`)

// checkHalf checks one half of a template and returns its number of
// placeholders. The placeholders must be {{1}} to {{n}}, each once, in any
// order. A utility half must not start or end with a placeholder, even
// behind punctuation, and needs a word between two placeholders: Meta
// refuses templates that break either rule, so the seed refuses them
// first. An authentication half has the code, {{1}}, alone.
func checkHalf(category, body string) (int, error) {
	if strings.TrimSpace(body) == "" {
		return 0, errors.New("is empty")
	}
	if rest := placeholder.ReplaceAllString(body, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return 0, errors.New("has a malformed placeholder: write them {{1}}, {{2}}, …")
	}
	locs := placeholder.FindAllStringSubmatchIndex(body, -1)
	nums := make([]int, len(locs))
	for i, l := range locs {
		n, err := strconv.Atoi(body[l[2]:l[3]])
		if err != nil {
			return 0, fmt.Errorf("placeholder %q: %w", body[l[0]:l[1]], err)
		}
		nums[i] = n
	}
	sorted := slices.Sorted(slices.Values(nums))
	for i, n := range sorted {
		if n != i+1 {
			return 0, fmt.Errorf("has placeholders %s: they must be {{1}} to {{%d}}, each once, without gaps", braces(sorted), len(sorted))
		}
	}
	if category == CategoryAuthentication {
		if len(nums) != 1 {
			return 0, fmt.Errorf("has %d placeholders: an authentication template has one, the code", len(nums))
		}
		return 1, nil
	}
	for i, l := range locs {
		start := 0
		if i > 0 {
			start = locs[i-1][1]
		}
		if !hasWord(body[start:l[0]]) {
			if i == 0 {
				return 0, fmt.Errorf("starts with the placeholder {{%d}}: Meta refuses a body that starts or ends with one", nums[i])
			}
			return 0, fmt.Errorf("has no words between {{%d}} and {{%d}}: Meta refuses placeholders side by side", nums[i-1], nums[i])
		}
	}
	if n := len(locs); n > 0 && !hasWord(body[locs[n-1][1]:]) {
		return 0, fmt.Errorf("ends with the placeholder {{%d}}: Meta refuses a body that starts or ends with one", nums[n-1])
	}
	return len(nums), nil
}

func hasWord(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

func braces(nums []int) string {
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = "{{" + strconv.Itoa(n) + "}}"
	}
	return strings.Join(out, ", ")
}

// renumber adds offset to every placeholder of body.
func renumber(body string, offset int) string {
	return placeholder.ReplaceAllStringFunc(body, func(p string) string {
		n, _ := strconv.Atoi(p[2 : len(p)-2])
		return "{{" + strconv.Itoa(n+offset) + "}}"
	})
}

// buildTemplate checks an event's halves and returns its parameter count
// and registered body (see WhatsAppTemplate). A utility template's halves
// take the same parameters in the same order, so an event writes them
// once; the sender sends the Arabic half's (payload "params_ar", or
// "params" without it) then the English half's ("params").
func buildTemplate(category, ar, en string) (int, string, error) {
	if category != CategoryUtility && category != CategoryAuthentication {
		return 0, "", fmt.Errorf("has the category %q: it must be %s or %s", category, CategoryUtility, CategoryAuthentication)
	}
	nar, err := checkHalf(category, ar)
	if err != nil {
		return 0, "", fmt.Errorf("ar half %w", err)
	}
	nen, err := checkHalf(category, en)
	if err != nil {
		return 0, "", fmt.Errorf("en half %w", err)
	}
	if category == CategoryAuthentication {
		return 1, "", nil
	}
	if nar != nen {
		return 0, "", fmt.Errorf("has %d parameters in the ar half and %d in the en half: both halves take the same ones, in the same order", nar, nen)
	}
	body := ar + halfSeparator + renumber(en, nar)
	if n := utf8.RuneCountInString(body); n > MaxTemplateBody {
		return 0, "", fmt.Errorf("has a body of %d characters: Meta takes at most %d", n, MaxTemplateBody)
	}
	return nar + nen, body, nil
}

// halves reads every event's ar and en bodies (channel whatsapp).
func (s *Store) halves(ctx context.Context) (map[string]map[string]string, error) {
	var rows []templateRow
	if err := s.conn(ctx).Where("channel = ? AND locale IN ?", "whatsapp", []string{"ar", "en"}).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read notification templates: %w", err)
	}
	out := map[string]map[string]string{}
	for _, r := range rows {
		if out[r.Event] == nil {
			out[r.Event] = map[string]string{}
		}
		out[r.Event][r.Locale] = r.Body
	}
	return out, nil
}

// seedRegistry records every seeded event's template in
// whatsapp_templates, after checking its halves as they stand in the
// database (an operator may have edited them): both exist and pass
// buildTemplate. A missing row is created; an existing one keeps its
// name and language (the operator's to change) and gets the parameter
// count and category of its halves. Every problem is reported at once,
// and none is recorded then.
func (s *Store) seedRegistry(ctx context.Context, now time.Time) error {
	halves, err := s.halves(ctx)
	if err != nil {
		return err
	}
	var problems []error
	rows := make([]whatsappTemplateRow, 0, len(defaultTemplates))
	for _, t := range defaultTemplates {
		h := halves[t.event]
		if h["ar"] == "" || h["en"] == "" {
			problems = append(problems, fmt.Errorf("template %s: both halves (ar and en) must exist in notification_templates", t.event))
			continue
		}
		n, _, err := buildTemplate(t.category, h["ar"], h["en"])
		if err != nil {
			problems = append(problems, fmt.Errorf("template %s: %w", t.event, err))
			continue
		}
		rows = append(rows, whatsappTemplateRow{Event: t.event, Name: TemplateName(t.event), LanguageCode: TemplateLanguage,
			Category: t.category, ParamCount: n, CreatedAt: now, UpdatedAt: now})
	}
	if len(problems) > 0 {
		return fmt.Errorf("notification templates: %w", errors.Join(problems...))
	}
	for _, r := range rows {
		created, err := insertMissing(s.conn(ctx), &whatsappTemplateRow{}, func() any { return &r }, "event = ?", r.Event)
		if err != nil {
			return fmt.Errorf("record WhatsApp template %s: %w", r.Event, err)
		}
		if created {
			continue
		}
		if err := s.conn(ctx).Model(&whatsappTemplateRow{}).
			Where("event = ? AND (param_count <> ? OR category <> ?)", r.Event, r.ParamCount, r.Category).
			Updates(map[string]any{"param_count": r.ParamCount, "category": r.Category, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("update WhatsApp template %s: %w", r.Event, err)
		}
	}
	return nil
}

// WhatsAppTemplates returns every registered template with its halves,
// in event order. An event whose halves no longer pass the seed's check
// (edited since) fails with that problem.
func (s *Store) WhatsAppTemplates(ctx context.Context) ([]WhatsAppTemplate, error) {
	var rows []whatsappTemplateRow
	if err := s.conn(ctx).Order("event").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read WhatsApp templates: %w", err)
	}
	halves, err := s.halves(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]WhatsAppTemplate, 0, len(rows))
	for _, r := range rows {
		h := halves[r.Event]
		_, body, err := buildTemplate(r.Category, h["ar"], h["en"])
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", r.Event, err)
		}
		out = append(out, WhatsAppTemplate{Event: r.Event, Name: r.Name, Language: r.LanguageCode, Category: r.Category,
			ParamCount: r.ParamCount, Arabic: h["ar"], English: h["en"], Body: body})
	}
	return out, nil
}
