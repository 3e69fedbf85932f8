// Command floor is the benchmark's floor: the least a credit-holding proxy
// must do. A bare Fiber v2 server forwards POST /v1/chat/completions to the
// upstream with the net/http client settings of the gateway's streaming
// calls, streams SSE answers through with a flush per read, and makes the
// two Redis round trips a credit hold needs: one script before the
// upstream call (check the balance, hold) and one after it (debit,
// release). No auth, no parsing, no limits, no logging. It prints
// "listening <addr>" once ready.
//
// The gateway's non-streaming calls use fasthttp's client since ADR 8; the
// floor keeps net/http as it was defined, so that its figures stay
// comparable from run to run (bench/README.md reports what the floor
// would do on fasthttp's client too).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

var reserve = redis.NewScript(`local a = redis.call('HMGET', KEYS[1], 'balance', 'held')
local amt = tonumber(ARGV[2])
if tonumber(a[1] or '0') - tonumber(a[2] or '0') < amt then return 0 end
redis.call('HINCRBY', KEYS[1], 'held', amt)
redis.call('HSET', KEYS[2], ARGV[1], amt)
return 1`)

var settle = redis.NewScript(`local amt = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'held', -amt)
return redis.call('HINCRBY', KEYS[1], 'balance', -tonumber(ARGV[2]))`)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	up := flag.String("upstream", "http://127.0.0.1:11434", "upstream base URL")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	prefix := flag.String("prefix", "bench:floor:", "Redis key prefix")
	fast := flag.Bool("fasthttp", false, "send non-streaming calls with fasthttp's HostClient, as the gateway does (ADR 8)")
	flag.Parse()
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	keys := []string{*prefix + "account:{1}", *prefix + "holds:{1}"}
	if err := rdb.HSet(context.Background(), keys[0], "balance", int64(1)<<50, "held", 0).Err(); err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:  (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: 120 * time.Second, ForceAttemptHTTP2: true, DisableCompression: true,
	}}
	target := *up + "/v1/chat/completions"
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(*up, "http://"), MaxConns: 4096, NoDefaultUserAgentHeader: true}
	var seq atomic.Uint64
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second})
	app.Post("/v1/chat/completions", func(c *fiber.Ctx) error {
		ctx := context.Background()
		id := strconv.FormatUint(seq.Add(1), 10)
		if ok, err := reserve.Run(ctx, rdb, keys, id, 500).Int(); err != nil || ok != 1 {
			return c.Status(503).SendString(`{"error":{"message":"hold refused"}}`)
		}
		if *fast && !bytes.Contains(c.Body(), []byte(`"stream":true`)) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(target)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			req.SetBodyRaw(c.Body())
			err := hc.Do(req, resp)
			settle.Run(ctx, rdb, keys, id, 42)
			if err != nil {
				return c.Status(502).SendString(`{"error":{"message":"upstream failed"}}`)
			}
			c.Status(resp.StatusCode()).Set("Content-Type", string(resp.Header.ContentType()))
			return c.Send(resp.Body())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(c.Body()))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			settle.Run(ctx, rdb, keys, id, 0)
			return c.Status(502).SendString(`{"error":{"message":"upstream failed"}}`)
		}
		c.Status(resp.StatusCode).Set("Content-Type", resp.Header.Get("Content-Type"))
		if resp.Header.Get("Content-Type") != "text/event-stream" {
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			settle.Run(ctx, rdb, keys, id, 42)
			if err != nil {
				return c.Status(502).SendString(`{"error":{"message":"upstream failed"}}`)
			}
			return c.Send(raw)
		}
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer resp.Body.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil || w.Flush() != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			settle.Run(ctx, rdb, keys, id, 42)
		})
		return nil
	})
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		s := make(chan os.Signal, 1)
		signal.Notify(s, os.Interrupt, syscall.SIGTERM)
		<-s
		_ = app.ShutdownWithTimeout(5 * time.Second)
	}()
	if err := app.Listener(ln); err != nil {
		log.Fatal(err)
	}
}
