package catalog

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// ReloadOnHangup calls reload on every SIGHUP, the operators' way to make
// a running gateway or portal-api re-read the model catalog, until stop is
// called. A failed reload is logged; the catalog in use stays.
func ReloadOnHangup(reload func() error, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if err := reload(); err != nil {
					log.Error("model catalog reload failed; keeping the current one", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
