package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/relay"
	"github.com/resayil/portal/pkg/testenv"
)

func opts(cancel context.CancelFunc) relay.StreamOptions {
	return relay.StreamOptions{Idle: time.Second, KeepAlive: 20 * time.Millisecond, Cancel: cancel, Done: make(chan struct{}),
		PublicModel: "public", BackendModel: "local"}
}

const chunk = `{"id":"c","model":"local","choices":[{"index":0,"delta":{"content":"hi"}}]}`
const usageChunk = `{"id":"c","model":"local","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`

func TestEvents_SkipsCommentsAndBlankLines(t *testing.T) {
	ev := relay.NewEvents(strings.NewReader(": ping\n\nevent: x\ndata: {\"a\":1}\n\ndata:[DONE]\n\n"))
	d, err := ev.Next()
	if err != nil || string(d) != `{"a":1}` {
		t.Fatalf("%q %v", d, err)
	}
	d, err = ev.Next()
	if err != nil || string(d) != `[DONE]` {
		t.Fatalf("%q %v", d, err)
	}
	if _, err := ev.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestEvents_LongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	ev := relay.NewEvents(strings.NewReader("data: " + long + "\n\n"))
	d, err := ev.Next()
	if err != nil || len(d) != len(long) {
		t.Fatalf("len %d err %v", len(d), err)
	}
}

func TestStream_RelaysStripsUsageAndRenames(t *testing.T) {
	body := "data: " + chunk + "\n\ndata: " + usageChunk + "\n\ndata: [DONE]\n\n"
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	cancelled := false
	res := relay.Stream(w, []byte(chunk), relay.NewEvents(strings.NewReader(body[len("data: "+chunk+"\n\n"):])), opts(func() { cancelled = true }))
	if res.Outcome != relay.OK || !res.HaveUsage || res.Usage.Total() != 5 || res.Generated != 1 || cancelled {
		t.Fatalf("result %+v cancelled %v", res, cancelled)
	}
	got := out.String()
	if strings.Contains(got, `"usage"`) || !strings.HasSuffix(got, "data: [DONE]\n\n") || strings.Contains(got, `"model":"local"`) || !strings.Contains(got, `"model":"public"`) {
		t.Fatalf("client saw:\n%s", got)
	}
}

func TestStream_KeepsUsageWhenAsked(t *testing.T) {
	var out bytes.Buffer
	o := opts(func() {})
	o.IncludeUsage = true
	res := relay.Stream(bufio.NewWriter(&out), []byte(usageChunk), relay.NewEvents(strings.NewReader("data: [DONE]\n\n")), o)
	if res.Outcome != relay.OK || !strings.Contains(out.String(), `"usage"`) {
		t.Fatalf("%+v\n%s", res, out.String())
	}
}

func TestStream_EndWithoutDoneIsAnUpstreamError(t *testing.T) {
	var out bytes.Buffer
	cancelled := false
	res := relay.Stream(bufio.NewWriter(&out), []byte(chunk), relay.NewEvents(strings.NewReader("data: "+chunk+"\n\n")), opts(func() { cancelled = true }))
	if res.Outcome != relay.UpstreamError || res.Generated != 2 || !cancelled {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(out.String(), `data: {"error":`) || strings.Contains(out.String(), "[DONE]") {
		t.Fatalf("want an error event and no [DONE]:\n%s", out.String())
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("broken pipe")
	}
	f.after--
	return len(p), nil
}

func TestStream_ClientGoneCancelsUpstream(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		for i := 0; i < 3; i++ {
			if _, err := pw.Write([]byte("data: " + chunk + "\n\n")); err != nil {
				return
			}
		}
		// then silence: only a keep-alive or the next write can notice the client left
	}()
	cancelled := make(chan struct{})
	w := bufio.NewWriterSize(&failingWriter{after: 2}, 16)
	res := relay.Stream(w, []byte(chunk), relay.NewEvents(pr), opts(func() { close(cancelled) }))
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("upstream not cancelled")
	}
	if res.Outcome != relay.ClientClosed || res.Generated < 1 {
		t.Fatalf("%+v", res)
	}
}

func TestStream_IdleUpstreamEnds(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out bytes.Buffer
	o := opts(func() { pr.CloseWithError(errors.New("cancelled")) })
	o.Idle = 100 * time.Millisecond
	res := relay.Stream(bufio.NewWriter(&out), []byte(chunk), relay.NewEvents(pr), o)
	if res.Outcome != relay.IdleTimeout || !strings.Contains(out.String(), "upstream_timeout") {
		t.Fatalf("%+v\n%s", res, out.String())
	}
	if !strings.Contains(out.String(), ": keep-alive") {
		t.Fatalf("no keep-alive during silence:\n%s", out.String())
	}
}

// TestStream_BurstThenSilenceIsFlushed: events of a burst may share one
// flush, but none waits for the next event: after a burst and a stripped
// usage chunk the client has every event at once, long before any idle or
// keep-alive timer; and the idle timeout still counts from the last event,
// not from the last keep-alive.
func TestStream_BurstThenSilenceIsFlushed(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		for range 5 {
			if _, err := pw.Write([]byte("data: " + chunk + "\n\n")); err != nil {
				return
			}
		}
		_, _ = pw.Write([]byte("data: " + usageChunk + "\n\n"))
	}()
	out := &testenv.Buffer{}
	o := opts(func() { pr.CloseWithError(errors.New("cancelled")) })
	o.KeepAlive, o.Idle = time.Hour, 700*time.Millisecond
	start := time.Now()
	done := make(chan relay.Result, 1)
	go func() { done <- relay.Stream(bufio.NewWriter(out), []byte(chunk), relay.NewEvents(pr), o) }()
	deadline := time.Now().Add(500 * time.Millisecond)
	for strings.Count(out.String(), `"content":"hi"`) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("after a burst the client has only:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	res := <-done
	if res.Outcome != relay.IdleTimeout || res.Generated != 6 || !res.HaveUsage || strings.Contains(out.String(), "usage") {
		t.Fatalf("%+v\n%s", res, out.String())
	}
	if took := time.Since(start); took < 700*time.Millisecond || took > 3*time.Second {
		t.Fatalf("idle timeout after %v, want about 700ms", took)
	}
}

// At shutdown the gateway closes Done and then cancels the upstream: a
// stream that sees its upstream read fail after Done closed ended by the
// shutdown, not by an upstream failure.
func TestStream_UpstreamCancelledByTheDrainIsAShutdown(t *testing.T) {
	for range 50 { // the select order is random: try both orders often
		pr, pw := io.Pipe()
		o := opts(func() {})
		done := make(chan struct{})
		o.Done = done
		go func() {
			close(done)
			pw.CloseWithError(context.Canceled)
		}()
		var out bytes.Buffer
		res := relay.Stream(bufio.NewWriter(&out), []byte(chunk), relay.NewEvents(pr), o)
		if res.Outcome != relay.Shutdown || !strings.Contains(out.String(), `"server_shutdown"`) {
			t.Fatalf("outcome %s, client saw:\n%s", res.Outcome, out.String())
		}
	}
}
