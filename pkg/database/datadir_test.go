//go:build unix

package database_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/resayil/portal/pkg/database"
)

// withUmask runs the test under the usual umask (022), so that a file the
// code creates without an explicit mode would be 0644 and fail the test.
func withUmask(t *testing.T) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", filepath.Base(path), got, want)
	}
}

// openSQLite opens (and migrates nothing in) a SQLite database in dataDir,
// writing through it so that SQLite creates its -wal and -shm.
func openSQLite(t *testing.T, dataDir string) {
	t.Helper()
	db, err := database.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "resayil.db"), database.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.SQL.Exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_SQLiteFilesPrivate: a fresh data dir is 0700 and the database
// with its -wal and -shm is 0600, whatever the umask.
func TestOpen_SQLiteFilesPrivate(t *testing.T) {
	withUmask(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	openSQLite(t, dataDir)
	wantMode(t, dataDir, 0o700)
	for _, f := range []string{"resayil.db", "resayil.db-wal", "resayil.db-shm"} {
		wantMode(t, filepath.Join(dataDir, f), 0o600)
	}
}

// TestOpen_TightensExistingDataDir: a data dir left by an older release
// (0755, database and secrets 0644) is tightened on start.
func TestOpen_TightensExistingDataDir(t *testing.T) {
	withUmask(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	openSQLite(t, dataDir) // creates the database, -wal and -shm
	files := []string{"resayil.db", "resayil.db-wal", "resayil.db-shm", "jwt-secret", "admin-password"}
	for _, f := range files[3:] {
		if err := os.WriteFile(filepath.Join(dataDir, f), []byte("secret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.Chmod(filepath.Join(dataDir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	openSQLite(t, dataDir)
	wantMode(t, dataDir, 0o700)
	for _, f := range files {
		wantMode(t, filepath.Join(dataDir, f), 0o600)
	}
}

// TestOpen_SQLiteOutsideDataDir: a database elsewhere (sqlite:PATH) is
// made private too; its folder, not known to be ours, is only created
// private, never changed.
func TestOpen_SQLiteOutsideDataDir(t *testing.T) {
	withUmask(t)
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(shared, "elsewhere.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), "sqlite:"+path, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantMode(t, path, 0o600)
	wantMode(t, shared, 0o755)

	fresh := filepath.Join(t.TempDir(), "new", "sub")
	db2, err := database.Open(context.Background(), "sqlite:"+filepath.Join(fresh, "x.db"), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	wantMode(t, fresh, 0o700)
	wantMode(t, filepath.Join(fresh, "x.db"), 0o600)
}

func TestWritePrivateFile_TightensExisting(t *testing.T) {
	withUmask(t)
	path := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := database.WritePrivateFile(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	wantMode(t, path, 0o600)
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Errorf("content %q", b)
	}
}
