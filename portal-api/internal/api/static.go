package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// spaCSP is the web app's Content-Security-Policy: scripts, styles, fonts
// and API calls from this origin only, no inline script or style element,
// no plugins, no framing. Payment pages are reached by navigation, which
// the policy does not restrict. (The JSON API keeps its own, stricter
// one: frame-ancestors 'none' is all a JSON answer needs.)
const spaCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

const (
	// immutableCache is for Vite's hashed assets (assets/…): a file's name
	// changes whenever its content does, so it may be kept for a year.
	immutableCache = "public, max-age=31536000, immutable"
	// revalidateCache is for index.html and the other unhashed files: the
	// browser may keep them but asks each time whether they changed, so a
	// deploy reaches everyone on their next page load.
	revalidateCache = "no-cache"
	spaIndex        = "index.html"
	// spaAssets is the folder of hashed files (Vite's build.assetsDir).
	spaAssets = "assets/"
)

// spa serves the built single-page app: its files, and index.html for
// every other path outside /api so that the app's router can answer deep
// links (its own 404 page included). Files are read from disk on each
// request, so a rebuild while the portal runs is served at once.
type spa struct {
	root *os.Root
}

// mountSPA serves the web app built into dir on app, after the API
// routes (it is a catch-all, and must never shadow them). A dir without
// index.html serves nothing, and says so once.
func mountSPA(app *fiber.App, dir string, log *slog.Logger) {
	root, err := os.OpenRoot(dir)
	if err == nil {
		var st fs.FileInfo
		if st, err = root.Stat(spaIndex); err == nil && !st.Mode().IsRegular() {
			err = errors.New("index.html is not a file")
		}
		if err != nil {
			_ = root.Close()
		}
	}
	if err != nil {
		log.Warn("the web app is not served: RESAYIL_STATIC_DIR has no built app (cd frontend && npm ci && npm run build)",
			"static_dir", dir, "err", err)
		return
	}
	log.Info("serving the web app", "static_dir", dir)
	app.Use((&spa{root: root}).handle)
}

func (s *spa) handle(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return c.Next()
	}
	p := c.Path()
	// /api is the JSON API's, answered or not: an unknown /api/... stays a
	// JSON 404 (c.Next ends at the error handler), never the app's page.
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		return c.Next()
	}
	rel, ok := spaFile(p)
	if ok && rel != spaIndex {
		served, err := s.serveFile(c, rel)
		if served || err != nil {
			return err
		}
	}
	if strings.HasPrefix(rel, spaAssets) {
		// A hashed file that is not there (an old page asking for the
		// previous build's chunk) is a 404: index.html in its place would
		// be run as a script, or cached for a year.
		return fiber.ErrNotFound
	}
	return s.serveIndex(c)
}

// spaFile turns a request path into a file name under the root, or
// reports that no file may be served for it: "..", hidden files and
// folders (.env, .vite/manifest.json), and the root itself. os.Root
// refuses any escape anyway; this keeps the intent readable.
func spaFile(p string) (string, bool) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" || rel == "." {
		return "", false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." || strings.HasPrefix(seg, ".") {
			return rel, false
		}
	}
	return rel, true
}

// serveFile sends rel (gzipped when the client accepts it and the build
// wrote a .gz beside it) and reports whether it existed.
func (s *spa) serveFile(c *fiber.Ctx, rel string) (bool, error) {
	name := filepath.FromSlash(rel)
	st, err := s.root.Stat(name)
	if err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	cache := revalidateCache
	if strings.HasPrefix(rel, spaAssets) {
		cache = immutableCache
	}
	s.headers(c, cache)
	setContentType(c, rel)
	etag := `W/"` + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().UnixNano(), 36) + `"`
	if notModified(c, etag) {
		return true, nil
	}
	if acceptsGzip(c) {
		if gz, err := s.root.Stat(name + ".gz"); err == nil && gz.Mode().IsRegular() {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return true, s.send(c, name+".gz")
		}
	}
	return true, s.send(c, name)
}

// serveIndex sends index.html with a content hash as its ETag, so that a
// browser revalidating it gets 304 until the next build.
func (s *spa) serveIndex(c *fiber.Ctx) error {
	b, err := s.read(spaIndex)
	if err != nil {
		return err
	}
	s.headers(c, revalidateCache)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	sum := sha256.Sum256(b)
	if notModified(c, `"`+hex.EncodeToString(sum[:8])+`"`) {
		return nil
	}
	return c.Send(b)
}

// headers replaces the API's no-store and CSP with the app's, and adds
// the headers only pages need.
func (s *spa) headers(c *fiber.Ctx, cache string) {
	c.Set(fiber.HeaderCacheControl, cache)
	c.Set(fiber.HeaderContentSecurityPolicy, spaCSP)
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set(fiber.HeaderCrossOriginResourcePolicy, "same-origin")
	c.Set(fiber.HeaderPermissionsPolicy, "camera=(), microphone=(), geolocation=(), usb=()")
	c.Vary(fiber.HeaderAcceptEncoding)
}

func (s *spa) read(name string) ([]byte, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (s *spa) send(c *fiber.Ctx, name string) error {
	b, err := s.read(name)
	if err != nil {
		return err
	}
	return c.Send(b)
}

func setContentType(c *fiber.Ctx, rel string) {
	ext := path.Ext(rel)
	switch ext {
	case ".js", ".mjs":
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	case ".woff2":
		c.Set(fiber.HeaderContentType, "font/woff2")
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			c.Set(fiber.HeaderContentType, t)
		} else {
			c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
		}
	}
}

// notModified answers 304 when the browser's copy is current.
func notModified(c *fiber.Ctx, etag string) bool {
	c.Set(fiber.HeaderETag, etag)
	for _, t := range strings.Split(c.Get(fiber.HeaderIfNoneMatch), ",") {
		if t = strings.TrimSpace(t); t == etag || t == "*" {
			c.Status(fiber.StatusNotModified)
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding loosely: gzip listed and not refused
// with q=0.
func acceptsGzip(c *fiber.Ctx) bool {
	for _, part := range strings.Split(c.Get(fiber.HeaderAcceptEncoding), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
