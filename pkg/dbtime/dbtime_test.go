package dbtime_test

import (
	"testing"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
)

func TestOf_UTCWholeMicroseconds(t *testing.T) {
	kuwait := time.FixedZone("AST", 3*60*60)
	in := time.Date(2026, 12, 7, 23, 30, 0, 123456789, kuwait)
	got := dbtime.Of(in)
	if want := time.Date(2026, 12, 7, 20, 30, 0, 123456000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Of(%s) = %s, want %s", in, got, want)
	}
}
