package api

import (
	"time"

	"github.com/resayil/portal/portal-api/internal/usage"
)

type usageTotalsDTO struct {
	Requests         int64 `json:"requests"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	Credits          int64 `json:"credits"`
	LocalRequests    int64 `json:"local_requests"`
	CloudRequests    int64 `json:"cloud_requests"`
	LocalCredits     int64 `json:"local_credits"`
	CloudCredits     int64 `json:"cloud_credits"`
	Errors           int64 `json:"errors"`
}

func toUsageTotalsDTO(t usage.Totals) usageTotalsDTO {
	return usageTotalsDTO{
		Requests: t.Requests, PromptTokens: t.PromptTokens, CompletionTokens: t.CompletionTokens, Credits: int64(t.Credits),
		LocalRequests: t.LocalRequests, CloudRequests: t.CloudRequests, LocalCredits: int64(t.LocalCredits), CloudCredits: int64(t.CloudCredits),
		Errors: t.Errors,
	}
}

type usageBucketDTO struct {
	Start time.Time `json:"start"`
	usageTotalsDTO
}

type usageSummaryDTO struct {
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Granularity string           `json:"granularity"`
	Buckets     []usageBucketDTO `json:"buckets"`
	Totals      usageTotalsDTO   `json:"totals"`
}

func toUsageSummaryDTO(s usage.Summary) usageSummaryDTO {
	out := usageSummaryDTO{From: s.From.UTC(), To: s.To.UTC(), Granularity: string(s.Granularity),
		Buckets: make([]usageBucketDTO, len(s.Buckets)), Totals: toUsageTotalsDTO(s.Totals)}
	for i, b := range s.Buckets {
		out.Buckets[i] = usageBucketDTO{Start: b.Start.UTC(), usageTotalsDTO: toUsageTotalsDTO(b.Totals)}
	}
	return out
}

type usageModelDTO struct {
	Model string `json:"model"`
	usageTotalsDTO
}

type usageModelsDTO struct {
	From   time.Time       `json:"from"`
	To     time.Time       `json:"to"`
	Data   []usageModelDTO `json:"data"`
	Totals usageTotalsDTO  `json:"totals"`
}

func toUsageModelsDTO(m usage.Models) usageModelsDTO {
	out := usageModelsDTO{From: m.From.UTC(), To: m.To.UTC(), Data: make([]usageModelDTO, len(m.Models)), Totals: toUsageTotalsDTO(m.Totals)}
	for i, r := range m.Models {
		out.Data[i] = usageModelDTO{Model: r.Model, usageTotalsDTO: toUsageTotalsDTO(r.Totals)}
	}
	return out
}

type receiptDTO struct {
	CreatedAt        time.Time `json:"created_at"`
	BillingID        string    `json:"billing_id"`
	ClientRequestID  *string   `json:"client_request_id"`
	APIKeyID         *int64    `json:"api_key_id"`
	KeyName          *string   `json:"key_name"`
	Model            string    `json:"model"`
	Backend          string    `json:"backend"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	HeldCredits      *int64    `json:"held_credits"`
	ChargedCredits   int64     `json:"charged_credits"`
	ShortfallCredits int64     `json:"shortfall_credits"`
	Status           string    `json:"status"`
	LatencyMS        int64     `json:"latency_ms"`
	TTFBMS           int64     `json:"ttfb_ms"`
}

func toReceiptDTO(r usage.Receipt) receiptDTO {
	out := receiptDTO{
		CreatedAt: r.CreatedAt.UTC(), BillingID: r.RequestID, Model: r.Model, Backend: r.Backend,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, ChargedCredits: int64(r.Credits),
		ShortfallCredits: int64(r.Shortfall), Status: r.Status, LatencyMS: r.LatencyMS, TTFBMS: r.TTFBMS,
	}
	if r.ClientRequestID != "" {
		out.ClientRequestID = &r.ClientRequestID
	}
	if r.APIKeyID != 0 {
		out.APIKeyID = &r.APIKeyID
	}
	if r.KeyName != "" {
		out.KeyName = &r.KeyName
	}
	if r.HeldCredits != 0 {
		held := int64(r.HeldCredits)
		out.HeldCredits = &held
	}
	return out
}

type receiptPageDTO struct {
	Data       []receiptDTO `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

func toReceiptPageDTO(p usage.Page) receiptPageDTO {
	out := receiptPageDTO{Data: make([]receiptDTO, len(p.Receipts))}
	for i, r := range p.Receipts {
		out.Data[i] = toReceiptDTO(r)
	}
	if !p.Next.IsZero() {
		next := p.Next.Encode()
		out.NextCursor = &next
	}
	return out
}
