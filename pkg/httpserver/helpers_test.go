package httpserver_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
)

type fiberCtx = fiber.Ctx

type httptestApp struct{ *fiber.App }

type response struct {
	*http.Response
	body string
}

func (a *httptestApp) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := a.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return response{resp, string(b)}
}
