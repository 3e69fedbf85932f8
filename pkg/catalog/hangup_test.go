package catalog_test

import (
	"errors"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/catalog"
)

func TestReloadOnHangup(t *testing.T) {
	calls := make(chan struct{}, 4)
	stop := catalog.ReloadOnHangup(func() error {
		calls <- struct{}{}
		return errors.New("a broken file: logged, not fatal")
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 2 {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatal("no reload within 5 s of a SIGHUP")
		}
	}
	stop()
}
