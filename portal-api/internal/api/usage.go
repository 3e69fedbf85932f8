package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/usage"
)

func (h *handlers) usageSummary(c *fiber.Ctx, account resayil.AccountID) error {
	s, err := h.usage.Summary(c.UserContext(), account, usage.SummaryQuery{
		RangeQuery: rangeQuery(c), Granularity: c.Query("granularity"),
	})
	if err != nil {
		return err
	}
	return c.JSON(toUsageSummaryDTO(s))
}

func (h *handlers) usageModels(c *fiber.Ctx, account resayil.AccountID) error {
	m, err := h.usage.Models(c.UserContext(), account, rangeQuery(c))
	if err != nil {
		return err
	}
	return c.JSON(toUsageModelsDTO(m))
}

func (h *handlers) usageRequests(c *fiber.Ctx, account resayil.AccountID) error {
	q := usage.ReceiptQuery{Filter: receiptFilter(c), Cursor: c.Query("cursor")}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			n = -1 // refused by the service, with the other problems
		}
		q.Limit = n
	}
	p, err := h.usage.Receipts(c.UserContext(), account, q)
	if err != nil {
		return err
	}
	return c.JSON(toReceiptPageDTO(p))
}

// exportTimeout bounds one CSV export, which outlives the handler.
const exportTimeout = 5 * time.Minute

// usageExport streams receipts as CSV, newest first, a batch per query.
// The first batch is read before the answer starts, so a failing database
// is a 500 rather than a cut-off file; a failure later ends the file early
// and is logged.
func (h *handlers) usageExport(c *fiber.Ctx, account resayil.AccountID) error {
	f, err := h.usage.Export(rangeQuery(c), receiptFilter(c))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	rows, next, err := h.usage.Batch(ctx, account, f, usage.Cursor{})
	if err != nil {
		cancel()
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="usage-%s-%s.csv"`,
		f.From.Format("20060102T150405Z"), f.To.Format("20060102T150405Z")))
	requestID, log := httpserver.RequestID(c), h.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		// LF line ends: with UseCRLF, encoding/csv would drop a lone
		// carriage return inside a cell, changing a client's request id.
		out := csv.NewWriter(w)
		_ = out.Write(receiptCSVHeader)
		for {
			for _, r := range rows {
				_ = out.Write(receiptCSVRecord(r))
			}
			out.Flush()
			if out.Error() != nil || w.Flush() != nil {
				return // the client left
			}
			if next.IsZero() {
				return
			}
			rows, next, err = h.usage.Batch(ctx, account, f, next)
			if err != nil {
				log.Error("usage export cut short", "request_id", requestID, "account", account, "err", err)
				return
			}
		}
	})
	return nil
}

func rangeQuery(c *fiber.Ctx) usage.RangeQuery {
	return usage.RangeQuery{From: c.Query("from"), To: c.Query("to")}
}

// receiptFilter reads the receipt filters of the query; the service
// checks them. Strings are copied: fasthttp reuses the query's buffer.
func receiptFilter(c *fiber.Ctx) usage.Filter {
	f := usage.Filter{
		Model: strings.Clone(c.Query("model")), Backend: strings.Clone(c.Query("backend")), Status: strings.Clone(c.Query("status")),
	}
	if v := c.Query("api_key_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			id = -1 // refused by the service, with the other problems
		}
		f.APIKeyID = id
	}
	return f
}

var receiptCSVHeader = []string{
	"time", "billing_id", "client_request_id", "api_key_id", "key_name", "model", "backend",
	"prompt_tokens", "completion_tokens", "held_credits", "charged_credits", "shortfall_credits",
	"status", "latency_ms", "ttfb_ms",
}

func receiptCSVRecord(r usage.Receipt) []string {
	key, held := "", ""
	if r.APIKeyID != 0 {
		key = strconv.FormatInt(r.APIKeyID, 10)
	}
	if r.HeldCredits != 0 {
		held = strconv.FormatInt(int64(r.HeldCredits), 10)
	}
	return []string{
		r.CreatedAt.UTC().Format(time.RFC3339Nano), csvText(r.RequestID), csvText(r.ClientRequestID), key, csvText(r.KeyName),
		csvText(r.Model), csvText(r.Backend), strconv.FormatInt(r.PromptTokens, 10), strconv.FormatInt(r.CompletionTokens, 10),
		held, strconv.FormatInt(int64(r.Credits), 10), strconv.FormatInt(int64(r.Shortfall), 10),
		csvText(r.Status), strconv.FormatInt(r.LatencyMS, 10), strconv.FormatInt(r.TTFBMS, 10),
	}
}

// csvText neutralises a text cell a spreadsheet would run as a formula:
// one starting with = + - @, a tab or a carriage return gets a leading
// apostrophe. Quoting is encoding/csv's.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
