package catalog

import "github.com/resayil/portal/pkg/resayil"

// Backend multipliers (docs/architecture.md "Credits and holds").
const (
	LocalMultiplier int64 = 1
	CloudMultiplier int64 = 2
)

// Cost is what totalTokens cost on a backend:
// max(1, ceil(total × per1k / 1000)) × multiplier.
func Cost(totalTokens, per1k, multiplier int64) resayil.Credits {
	if totalTokens < 0 {
		totalTokens = 0
	}
	base := (totalTokens*per1k + 999) / 1000
	if base < 1 {
		base = 1
	}
	return resayil.Credits(base * multiplier)
}

// EstimateTokens is the gateway's own token count of text it measured in
// UTF-8 bytes: ÷ 2, rounded up. It is the hold's prompt estimate, and the
// completion count of an answer that came without usage. Real tokenizers average 3–4 bytes a
// token, so this over-estimates, as an upper bound must.
func EstimateTokens(textBytes int) int64 {
	return int64(textBytes+1) / 2
}

// Hold is the upper bound reserved before a request runs:
// Cost((prompt + maxTokens) × n) at the given multiplier.
func Hold(promptTokens, maxTokens, n, per1k, multiplier int64) resayil.Credits {
	if n < 1 {
		n = 1
	}
	return Cost((promptTokens+maxTokens)*n, per1k, multiplier)
}

// AffordableMaxTokens is the largest max_tokens whose hold fits available
// credits, or 0 when not even one completion token fits.
func AffordableMaxTokens(available resayil.Credits, promptTokens, n, per1k, multiplier int64) int64 {
	if n < 1 {
		n = 1
	}
	units := int64(available) / multiplier // credits before the multiplier
	if units < 1 {
		return 0
	}
	maxTotal := units * 1000 / per1k // largest total with ceil(total×per1k/1000) ≤ units
	perChoice := maxTotal/n - promptTokens
	if perChoice < 1 {
		return 0
	}
	return perChoice
}
