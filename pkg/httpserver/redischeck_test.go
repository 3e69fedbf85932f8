package httpserver_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/testenv"
)

func TestRedisCheck(t *testing.T) {
	ctx := context.Background()
	up := httpserver.RedisCheck(testenv.Redis(t).Client)
	if up.Name != "redis" || !up.Required {
		t.Fatalf("RedisCheck = %+v, want the required check named redis", up)
	}
	if err := up.Run(ctx); err != nil {
		t.Fatalf("a running Redis: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { down.Close() })
	err = httpserver.RedisCheck(down).Run(ctx)
	if err == nil || err.Error() != "redis unreachable" {
		t.Fatalf("an unreachable Redis: %v, want redis unreachable (naming no address)", err)
	}
}
