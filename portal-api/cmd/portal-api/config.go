package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/portal-api/internal/app"
)

// loadConfig reads and validates the configuration. In development a
// missing JWT secret is generated once and kept in the data dir, so
// sessions survive restarts without any variable set.
func loadConfig(environ []string) (*app.Config, error) {
	var cfg app.Config
	if err := config.Load(&cfg, environ); err != nil {
		return nil, err
	}
	if !cfg.IsProduction() && cfg.JWTSecret == "" {
		s, err := persistentSecret(filepath.Join(cfg.DataDir, "jwt-secret"))
		if err != nil {
			return nil, config.Invalid("DATA_DIR", "cannot keep the development JWT secret there: %v", err)
		}
		cfg.JWTSecret = config.Secret(s)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// persistentSecret returns the secret stored at path, creating it first.
// The data dir is made private (0700, its files 0600) before anything is
// read or written: this runs before the database is opened (which does
// the same), and with MySQL the database never touches the data dir.
func persistentSecret(path string) (string, error) {
	if err := database.SecureDataDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	s := randomString(48)
	if err := database.WritePrivateFile(path, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
