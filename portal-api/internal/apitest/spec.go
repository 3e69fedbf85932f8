package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/resayil/portal/portal-api/internal/api"
)

// Spec is the loaded openapi.yaml with a router over its paths.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
}

var loadSpec = sync.OnceValues(func() (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid OpenAPI 3: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	return &Spec{Doc: doc, router: router}, nil
})

// LoadSpec returns openapi.yaml, loaded and validated once per test binary.
func LoadSpec(t testing.TB) *Spec {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func spec(t testing.TB) *Spec { return LoadSpec(t) }

// exchange is a request already checked against the spec, waiting for its
// response.
type exchange struct {
	input *openapi3filter.RequestValidationInput
	// reqErr is why the spec rejects the request, if it does.
	reqErr error
}

// presence checks that the credentials a security scheme names are there;
// whether they are valid is the server's business.
func presence(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch s := in.SecurityScheme; {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return errors.New("no bearer token")
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if _, err := r.Cookie(s.Name); err != nil {
			return fmt.Errorf("no %s cookie", s.Name)
		}
	}
	return nil
}

func (s *Spec) checkRequest(req *http.Request, body []byte) *exchange {
	// Validate a copy: the validator reads the body.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.router.FindRoute(vreq)
	if err != nil {
		return &exchange{reqErr: fmt.Errorf("%s %s is not in openapi.yaml: %w", req.Method, req.URL.Path, err)}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: presence, MultiError: true},
	}
	return &exchange{input: in, reqErr: openapi3filter.ValidateRequest(context.Background(), in)}
}

// response checks the answer. A request the spec rejects must be refused
// (4xx): if the server accepts it, the spec or the server is wrong.
func (e *exchange) response(r *Response) error {
	if e.input == nil {
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
			return nil // an undocumented route that does not exist
		}
		return e.reqErr
	}
	if e.reqErr != nil && (r.Status < 400 || r.Status >= 500) {
		return fmt.Errorf("the spec rejects the request (%v) but the server answered %d", e.reqErr, r.Status)
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: e.input,
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// Operations lists "METHOD /path" for every operation of the spec, with
// {param} path syntax.
func (s *Spec) Operations() []string {
	var out []string
	for path, item := range s.Doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	return out
}
