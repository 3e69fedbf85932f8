package database

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the data directory and of the files in it: the SQLite database
// holds password hashes, sessions and payments, and the development
// secrets sit beside it, so nobody but the user the binaries run as may
// read either.
const (
	PrivateDirMode  fs.FileMode = 0o700
	PrivateFileMode fs.FileMode = 0o600
)

// sqliteCompanions are the files SQLite keeps beside a database in WAL
// mode (and the rollback journal of other modes).
var sqliteCompanions = []string{"-wal", "-shm", "-journal"}

// SecureDataDir makes dir private: it creates it 0700, or takes the group
// and other permissions off an existing one and off every regular file
// directly in it (the SQLite database and its -wal and -shm, the
// development secrets). It runs on every start, so a data dir created by
// an older release (0750, files 0644) is tightened; the owner's own bits
// are kept, so nothing stops working.
func SecureDataDir(dir string) error {
	if err := os.MkdirAll(dir, PrivateDirMode); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := tighten(dir, PrivateDirMode); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read data dir: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // a symlink's mode is its target's business
		}
		if err := tighten(filepath.Join(dir, e.Name()), PrivateDirMode); err != nil {
			return err
		}
	}
	return nil
}

// WritePrivateFile writes data to path, readable by the owner only, also
// when the file exists already with wider permissions (os.WriteFile keeps
// an existing file's mode).
func WritePrivateFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, PrivateFileMode); err != nil {
		return err
	}
	return os.Chmod(path, PrivateFileMode)
}

// prepareSQLiteFile creates the database's folder (0700) and the database
// file itself, empty and 0600, before the driver opens it: SQLite creates
// a missing database with the process umask (0644), and gives -wal and
// -shm the mode of the database file. Files that exist already lose their
// group and other permissions.
func prepareSQLiteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), PrivateDirMode); err != nil {
		return fmt.Errorf("create database folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, PrivateFileMode)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range append([]string{path}, companions(path)...) {
		if err := tighten(p, PrivateFileMode); err != nil {
			return err
		}
	}
	return nil
}

// companions lists the paths of the database's -wal, -shm and -journal.
func companions(path string) []string {
	out := make([]string, len(sqliteCompanions))
	for i, s := range sqliteCompanions {
		out[i] = path + s
	}
	return out
}

// tighten takes off path every permission bit that keep does not have; a
// missing path is left missing.
func tighten(path string, keep fs.FileMode) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&^keep == 0 {
		return nil
	}
	if err := os.Chmod(path, perm&keep); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}
