package catalog

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// File is a catalog file kept current for a reader that cannot be told of
// changes (portal-api): Get re-reads the file when its modification time
// or size changed, looking at most once per interval, and Reload re-reads
// it at once (SIGHUP). A file that no longer parses keeps the catalog in
// use; Err tells why.
type File struct {
	path       string
	restricted []string
	interval   time.Duration
	now        func() time.Time

	cur     atomic.Pointer[Catalog]
	checked atomic.Int64 // Unix nanoseconds of the last look at the file
	mu      sync.Mutex   // one reader at a time re-reads the file
	mod     time.Time
	size    int64
	err     error
}

// OpenFile loads path (less the restricted names) and returns a File that
// looks for changes at most once per interval (0: on every Get). now is
// the clock; nil means time.Now.
func OpenFile(path string, restricted []string, interval time.Duration, now func() time.Time) (*File, error) {
	if now == nil {
		now = time.Now
	}
	f := &File{path: path, restricted: restricted, interval: interval, now: now}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Get returns the current catalog, re-reading the file first when the
// interval has passed and the file changed.
func (f *File) Get() *Catalog {
	now := f.now().UnixNano()
	if now-f.checked.Load() >= int64(f.interval) && f.mu.TryLock() {
		f.checked.Store(now)
		if st, err := os.Stat(f.path); err != nil {
			f.err = fmt.Errorf("model catalog: %w", err)
		} else if !st.ModTime().Equal(f.mod) || st.Size() != f.size {
			f.load(st)
		}
		f.mu.Unlock()
	}
	return f.cur.Load()
}

// Reload re-reads the file now, whatever its modification time. On an
// error the current catalog stays.
func (f *File) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked.Store(f.now().UnixNano())
	st, err := os.Stat(f.path)
	if err != nil {
		f.err = fmt.Errorf("read model catalog: %w", err)
		return f.err
	}
	f.load(st)
	return f.err
}

// Err is the error of the last look at the file, nil when it loaded.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// load reads the file whose stat is st; f.mu is held. The stat is taken
// before the read, so a write during the read is seen on the next look.
func (f *File) load(st os.FileInfo) {
	c, err := Load(f.path, f.restricted)
	f.mod, f.size = st.ModTime(), st.Size()
	if err != nil {
		f.err = err
		return
	}
	f.err = nil
	f.cur.Store(c)
}
