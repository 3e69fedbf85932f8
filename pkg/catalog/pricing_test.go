package catalog_test

import (
	"testing"

	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/resayil"
)

func TestCost(t *testing.T) {
	cases := []struct {
		total, per1k, mult int64
		want               resayil.Credits
	}{
		{0, 1, 1, 1},     // at least 1 credit
		{1, 1, 1, 1},     // ceil
		{1000, 1, 1, 1},  // exactly 1k
		{1001, 1, 1, 2},  // ceil above
		{1001, 1, 2, 4},  // cloud doubles after rounding
		{18, 1, 2, 2},    // minimum charge on cloud
		{2500, 5, 1, 13}, // 12.5 → 13
		{100000, 8, 2, 1600},
	}
	for _, c := range cases {
		if got := catalog.Cost(c.total, c.per1k, c.mult); got != c.want {
			t.Errorf("Cost(%d, %d, %d) = %d, want %d", c.total, c.per1k, c.mult, got, c.want)
		}
	}
}

func TestEstimateAndHold(t *testing.T) {
	if got := catalog.EstimateTokens(5); got != 3 {
		t.Fatalf("5 bytes → %d tokens, want 3", got)
	}
	// 10 prompt + 990 max tokens = 1000 → 1 credit locally, 2 on cloud; n=2 doubles tokens.
	if got := catalog.Hold(10, 990, 1, 1, 1); got != 1 {
		t.Fatalf("hold %d", got)
	}
	if got := catalog.Hold(10, 990, 2, 1, 2); got != 4 {
		t.Fatalf("hold n=2 cloud %d", got)
	}
}

func TestAffordableMaxTokens_IsTheLargestThatFits(t *testing.T) {
	for _, c := range []struct {
		avail                  resayil.Credits
		prompt, n, per1k, mult int64
	}{
		{5, 100, 1, 1, 1}, {5, 100, 1, 1, 2}, {7, 10, 3, 2, 1}, {1000, 500, 1, 5, 2}, {3, 0, 1, 3, 1},
	} {
		got := catalog.AffordableMaxTokens(c.avail, c.prompt, c.n, c.per1k, c.mult)
		if got < 1 {
			t.Fatalf("%+v: nothing affordable", c)
		}
		if h := catalog.Hold(c.prompt, got, c.n, c.per1k, c.mult); h > c.avail {
			t.Fatalf("%+v: max_tokens %d holds %d > %d", c, got, h, c.avail)
		}
		if h := catalog.Hold(c.prompt, got+1, c.n, c.per1k, c.mult); h <= c.avail {
			t.Fatalf("%+v: max_tokens %d is not the largest (+1 holds %d)", c, got, h)
		}
	}
	if got := catalog.AffordableMaxTokens(1, 0, 1, 1, 2); got != 0 {
		t.Fatalf("below the cloud minimum must afford nothing, got %d", got)
	}
	if got := catalog.AffordableMaxTokens(1, 1000, 1, 1, 1); got != 0 {
		t.Fatalf("a prompt that uses the whole balance affords nothing, got %d", got)
	}
}
