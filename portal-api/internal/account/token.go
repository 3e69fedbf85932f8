package account

import (
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resayil/portal/pkg/resayil"
)

// issuer names portal-api as the maker of access tokens.
const issuer = "resayil-portal"

// AccessToken is a signed JWT and when it ends.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
	TTL       time.Duration
}

// accessClaims are what an access token carries: the user (sub), the
// session (sid) that every request re-checks, and the role.
type accessClaims struct {
	SID  string `json:"sid"`
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// tokens signs and verifies access tokens with HS256.
type tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
}

func newTokens(secret []byte, ttl time.Duration, now func() time.Time) *tokens {
	return &tokens{
		secret: secret, ttl: ttl, now: now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
		),
	}
}

func (t *tokens) issue(u User, sessionID string) (AccessToken, error) {
	now := t.now().UTC()
	exp := now.Add(t.ttl)
	claims := accessClaims{
		SID:  sessionID,
		Role: string(u.Role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   strconv.FormatInt(int64(u.ID), 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Token: s, ExpiresAt: exp, TTL: t.ttl}, nil
}

var errBadToken = errors.New("invalid access token")

// verify checks the signature, issuer and expiry and returns the user and
// session ids the token names.
func (t *tokens) verify(token string) (resayil.UserID, string, error) {
	var c accessClaims
	if _, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil }); err != nil {
		return 0, "", errBadToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || c.SID == "" {
		return 0, "", errBadToken
	}
	return resayil.UserID(id), c.SID, nil
}
