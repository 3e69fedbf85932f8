// Command healthcheck is the container health probe of the production
// images. They are distroless (no shell, no wget or curl), so
// docker-compose.yml runs this instead:
//
//	/healthcheck http://127.0.0.1:8081/readyz
//
// It sends one GET and exits 0 when the answer is 2xx, 1 otherwise (the
// status or the error goes to stderr). It imports only the standard library.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const usage = `usage: healthcheck URL

Sends GET URL and exits 0 on a 2xx answer, 1 otherwise (timeout 5s).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 1 // Docker reserves exit code 2 in health checks
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintln(stderr, "healthcheck:", args[0], "answered", resp.Status)
		return 1
	}
	return 0
}
