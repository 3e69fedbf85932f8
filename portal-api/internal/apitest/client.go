package apitest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client is one browser: its own client address, access token and
// refresh cookie, which it sends the way a browser would (only to the
// cookie's path, and not once it has expired).
type Client struct {
	h  *Harness
	IP string
	// Email is the address the client registered or last logged in with.
	Email   string
	Token   string
	Refresh *http.Cookie
	// refreshExpires is when a persistent cookie ends (zero: browser session).
	refreshExpires time.Time
}

// NewClient returns a client with a fresh address and no session.
func (h *Harness) NewClient() *Client { return &Client{h: h, IP: RandomIP()} }

// Do sends r as this client: with its address, its access token unless r
// has one, and its refresh cookie on /api/v1/auth paths. It keeps the
// refresh cookie the response sets or clears.
func (c *Client) Do(t testing.TB, r Request) *Response {
	t.Helper()
	res, err := c.Try(r)
	return reported(t, res, err)
}

// Try is Do for any goroutine (see Harness.Try). One client's calls still
// go one at a time: a client keeps its refresh cookie.
func (c *Client) Try(r Request) (*Response, error) {
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	if _, ok := r.Header["X-Forwarded-For"]; !ok {
		r.Header["X-Forwarded-For"] = c.IP
	}
	if r.Token == "" {
		r.Token = c.Token
	}
	if c.Refresh != nil && strings.HasPrefix(r.Path, c.Refresh.Path) &&
		(c.refreshExpires.IsZero() || c.h.Clock.Now().Before(c.refreshExpires)) {
		r.Cookies = append(r.Cookies, &http.Cookie{Name: c.Refresh.Name, Value: c.Refresh.Value})
	}
	res, err := c.h.Try(r)
	if res == nil {
		return nil, err
	}
	if ck := res.Cookie(RefreshCookie); ck != nil {
		switch {
		case ck.Value == "" || (!ck.Expires.IsZero() && !ck.Expires.After(c.h.Clock.Now())):
			c.Refresh, c.refreshExpires = nil, time.Time{}
		default:
			c.Refresh, c.refreshExpires = ck, time.Time{}
			if ck.MaxAge > 0 {
				c.refreshExpires = c.h.Clock.Now().Add(time.Duration(ck.MaxAge) * time.Second)
			}
		}
	}
	return res, err
}

// RefreshCookie is the name of the refresh cookie.
const RefreshCookie = "resayil_refresh"

// DefaultPassword is a password that passes the rules.
const DefaultPassword = "plum-orbit-cactus-42"

// Register creates a user with e-mail and DefaultPassword.
func (c *Client) Register(t testing.TB, email string) User {
	t.Helper()
	res := c.Do(t, Request{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
		"name": "Test User", "email": email, "phone": "+96512345678", "password": DefaultPassword,
	}}).Want(t, http.StatusCreated)
	c.Email = email
	var out UserResponse
	res.JSON(t, &out)
	return out.User
}

// Login logs in and keeps the access token and refresh cookie.
func (c *Client) Login(t testing.TB, email, password string, rememberMe bool) TokenResponse {
	t.Helper()
	res := c.Do(t, Request{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{
		"email": email, "password": password, "remember_me": rememberMe,
	}}).Want(t, http.StatusOK)
	var out TokenResponse
	res.JSON(t, &out)
	c.Token, c.Email = out.AccessToken, email
	return out
}

// SignUp registers a fresh user and logs in as them.
func (h *Harness) SignUp(t testing.TB, name string) (*Client, User) {
	t.Helper()
	c := h.NewClient()
	email := UniqueEmail(name)
	u := c.Register(t, email)
	c.Login(t, email, DefaultPassword, false)
	return c, u
}
