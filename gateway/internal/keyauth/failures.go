package keyauth

import "strings"

// Presented reports whether an Authorization header carries a Bearer
// credential at all, and returns it masked (MaskKey): the subject of the
// auth-failure line (pkg/authlog) when the key is refused. A request
// without one is unauthenticated, not a failed authentication, and is not
// logged: fail2ban counts keys that were tried, malformed ones included.
func Presented(authorizationHeader string) (subject string, ok bool) {
	key, ok := bearerToken(authorizationHeader)
	if !ok {
		return "", false
	}
	return MaskKey(key), true
}

// bearerToken returns the credential of an "Authorization: Bearer ..."
// header, unchecked. The scheme is case-insensitive (RFC 9110 section
// 11.1).
func bearerToken(header string) (string, bool) {
	h := strings.TrimSpace(header)
	const scheme = "bearer"
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) || (h[len(scheme)] != ' ' && h[len(scheme)] != '\t') {
		return "", false
	}
	key := strings.TrimSpace(h[len(scheme)+1:])
	return key, key != ""
}
