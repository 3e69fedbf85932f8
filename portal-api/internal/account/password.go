// Package account owns people's identities: registration, passwords,
// sessions and refresh tokens.
package account

import (
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// Hasher hashes and checks passwords with bcrypt. The cost is configurable
// so tests stay fast; production enforces a floor of 12 in config.
type Hasher struct {
	Cost int
}

// Hash returns the bcrypt hash of password.
func (h Hasher) Hash(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.Cost)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Check reports whether password matches hash. Malformed hashes do not match.
func (h Hasher) Check(hash, password string) bool {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	return err == nil
}

// Cost returns the cost a hash was made with.
func Cost(hash string) (int, error) {
	c, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return 0, errors.New("not a bcrypt hash")
	}
	return c, nil
}
