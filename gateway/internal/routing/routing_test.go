package routing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/budget"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacitymem"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

var (
	basic = resayil.Plan{Code: resayil.TierBasic, QueuePriority: 0}
	pro   = resayil.Plan{Code: resayil.TierPro, QueuePriority: 1, CloudAllowed: true}
	small = &catalog.Model{ID: "llama3.2:3b", Local: "llama3.2:3b", Cloud: "gpt-oss:20b"}
	cloud = &catalog.Model{ID: "gpt-oss:120b-cloud", CloudOnly: true, Cloud: "gpt-oss:120b"}
)

type world struct {
	r      *routing.Router
	store  cloudbudget.Store
	budget *budget.Budget
	hosts  []*routing.Host
	cloud  *upstream.Backend
}

// newWorld builds a router over n local hosts of one slot (never called:
// the tests' Call decides what each backend does) and a cloud whose budget
// lives in Redis with the given cap.
func newWorld(t testing.TB, n int, budgetCap int64, mod func(*routing.Config)) *world {
	t.Helper()
	env := testenv.Redis(t)
	store, err := cloudbudgetredis.New(env.Client, cloudbudgetredis.Config{Prefix: env.Prefix, DefaultCap: budgetCap})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{store: store, budget: budget.New(budget.Config{Store: store})}
	for i := range n {
		w.hosts = append(w.hosts, routing.NewHost(upstream.New(upstream.Local, "http://host"+string(rune('a'+i))+":11434", "", upstream.DefaultTimeouts), 1))
	}
	w.cloud = upstream.New(upstream.Cloud, "http://cloud", "k", upstream.DefaultTimeouts)
	cfg := routing.Config{Hosts: w.hosts, Cloud: w.cloud, Budget: w.budget, Capacity: capacitymem.New(capacitymem.Config{}),
		Threshold: 0, QueueTimeout: 5 * time.Second, PollInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	if w.r, err = routing.New(cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

func ok(*upstream.Backend, string) error { return nil }

func serve(t *testing.T, w *world, id string, m *catalog.Model, p resayil.Plan, call routing.Call) (*routing.Lease, error) {
	t.Helper()
	return w.r.Serve(context.Background(), routing.Request{ID: id, Model: m, Plan: p}, call)
}

func waitQueued(t *testing.T, w *world, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := w.r.Pool().Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range st.Waiting {
			total += c
		}
		if total == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", total, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// At 100 % the failover on load stops: a Pro request that would have gone
// to the cloud waits for a local slot, also when another replica used the
// last request after this one last looked.
func TestServe_ExhaustedBudgetStopsFailover(t *testing.T) {
	w := newWorld(t, 1, 1, nil)
	holder, err := serve(t, w, "holder", small, basic, ok)
	if err != nil || holder.Backend.Kind != upstream.Local {
		t.Fatalf("holder: %+v %v", holder, err)
	}
	type res struct {
		l   *routing.Lease
		err error
	}
	waiter := make(chan res, 1)
	go func() { l, err := serve(t, w, "basic-waiter", small, basic, ok); waiter <- res{l, err} }()
	waitQueued(t, w, 1)
	// One waiting is more than the threshold (0): Pro fails over and takes
	// the whole budget.
	l, err := serve(t, w, "pro-1", small, pro, ok)
	if err != nil || l.Backend != w.cloud || l.Model != "gpt-oss:20b" || l.Failover != routing.ReasonLoad {
		t.Fatalf("pro-1: %+v %v", l, err)
	}
	// This replica's view says "exhausted": the next Pro request waits.
	pro2 := make(chan res, 1)
	go func() { l, err := serve(t, w, "pro-2", small, pro, ok); pro2 <- res{l, err} }()
	waitQueued(t, w, 2)
	holder.Release()
	// Pro's priority serves it before the older Basic waiter.
	r := <-pro2
	if r.err != nil || r.l.Backend.Kind != upstream.Local || r.l.Waited == 0 {
		t.Fatalf("pro-2 after the budget ran out: %+v %v", r.l, r.err)
	}
	r.l.Release()
	if r = <-waiter; r.err != nil || r.l.Backend.Kind != upstream.Local {
		t.Fatalf("basic waiter: %+v %v", r.l, r.err)
	}

	// Raised cap, seen by this replica; then another replica takes it
	// before this one looks again: Take refuses and the request waits.
	if _, err := w.store.SetCap(context.Background(), w.budget.Today(), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := w.budget.Refresh(context.Background()); err != nil || !w.budget.Room() {
		t.Fatalf("refresh: %v", err)
	}
	if _, ok, err := w.store.Take(context.Background(), w.budget.Today()); err != nil || !ok {
		t.Fatalf("other replica's take: %v %v", ok, err)
	}
	waiter2 := make(chan res, 1)
	go func() { l, err := serve(t, w, "basic-2", small, basic, ok); waiter2 <- res{l, err} }()
	waitQueued(t, w, 1)
	pro3 := make(chan res, 1)
	go func() { l, err := serve(t, w, "pro-3", small, pro, ok); pro3 <- res{l, err} }()
	waitQueued(t, w, 2)
	r.l.Release()
	for _, ch := range []chan res{pro3, waiter2} {
		r := <-ch
		if r.err != nil || r.l.Backend.Kind != upstream.Local {
			t.Fatalf("%+v %v", r.l, r.err)
		}
		r.l.Release()
	}
}

func TestServe_CloudOnly(t *testing.T) {
	w := newWorld(t, 1, 1, nil)
	if _, err := serve(t, w, "b", cloud, basic, ok); !errors.Is(err, routing.ErrNoBackend) {
		t.Fatalf("basic on a cloud-only model: %v", err)
	}
	l, err := serve(t, w, "p1", cloud, pro, ok)
	if err != nil || l.Backend != w.cloud || l.Model != "gpt-oss:120b" || l.Failover != "" {
		t.Fatalf("%+v %v", l, err)
	}
	if _, err := serve(t, w, "p2", cloud, pro, ok); !errors.Is(err, routing.ErrCloudExhausted) {
		t.Fatalf("second request on a budget of 1: %v", err)
	}
}

// A cloud request refused at connect never reached the cloud: it does not
// count against the budget.
func TestServe_UnreachableCloudIsRefunded(t *testing.T) {
	w := newWorld(t, 1, 5, nil)
	refused := func(*upstream.Backend, string) error {
		return &upstream.Error{NotSent: true, Err: errors.New("refused")}
	}
	if _, err := serve(t, w, "p", cloud, pro, refused); err == nil {
		t.Fatal("no error")
	}
	if st, err := w.store.Get(context.Background(), w.budget.Today()); err != nil || st.Used != 0 {
		t.Fatalf("budget after a refused connection: %+v %v", st, err)
	}
	failed := func(*upstream.Backend, string) error { return &upstream.Error{Status: 500} }
	if _, err := serve(t, w, "p2", cloud, pro, failed); err == nil {
		t.Fatal("no error")
	}
	if st, _ := w.store.Get(context.Background(), w.budget.Today()); st.Used != 1 {
		t.Fatalf("a request that reached the cloud must count: %+v", st)
	}
}

// Failures before the first byte go to the next host, then the cloud;
// a failure that is the request's own fault (400) is not retried.
func TestServe_FailoverOrder(t *testing.T) {
	w := newWorld(t, 2, 5, nil)
	var mu sync.Mutex
	var tried []string
	fail := func(status int) routing.Call {
		return func(b *upstream.Backend, model string) error {
			mu.Lock()
			tried = append(tried, b.BaseURL)
			mu.Unlock()
			if b.Kind == upstream.Cloud {
				return nil
			}
			return &upstream.Error{Status: status}
		}
	}
	l, err := serve(t, w, "p", small, pro, fail(503))
	if err != nil || l.Backend != w.cloud || l.Failover != routing.ReasonError || len(tried) != 3 {
		t.Fatalf("lease %+v err %v tried %v", l, err, tried)
	}
	tried = nil
	if _, err := serve(t, w, "b", small, basic, fail(503)); err == nil || len(tried) != 2 {
		t.Fatalf("basic: %v tried %v", err, tried)
	}
	tried = nil
	var ue *upstream.Error
	if _, err := serve(t, w, "bad", small, pro, fail(400)); !errors.As(err, &ue) || ue.Status != 400 || len(tried) != 1 {
		t.Fatalf("400: %v tried %v", err, tried)
	}
}

// A model pulled on no host: Pro goes to the cloud, Basic gets
// ErrNoBackend; the probes report it as missing.
func TestServe_ModelOnNoHost(t *testing.T) {
	ol := fakeollama.New(fakeollama.WithModels("qwen2.5:7b"))
	t.Cleanup(ol.Close)
	cat, err := catalog.Parse([]byte(`models:
  - {id: llama3.2:3b, class: small, local: llama3.2:3b, cloud: gpt-oss:20b}
  - {id: qwen2.5:7b, class: medium, local: qwen2.5:7b, cloud: gpt-oss:20b}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, 0, 5, func(c *routing.Config) {
		c.Hosts = []*routing.Host{routing.NewHost(upstream.New(upstream.Local, ol.URL(), "", upstream.DefaultTimeouts), 2)}
		c.Catalog = catalog.NewLive(cat)
	})
	w.r.Probe(context.Background())
	if m := w.r.Missing(); len(m) != 1 || m[0] != "llama3.2:3b" {
		t.Fatalf("missing %v", m)
	}
	if err := w.r.Check(context.Background()); err == nil {
		t.Fatal("readiness with a missing model")
	}
	l, err := serve(t, w, "p", small, pro, ok)
	if err != nil || l.Backend.Kind != upstream.Cloud || l.Failover != routing.ReasonNoHost {
		t.Fatalf("%+v %v", l, err)
	}
	if _, err := serve(t, w, "b", small, basic, ok); !errors.Is(err, routing.ErrNoBackend) {
		t.Fatalf("basic: %v", err)
	}
	// "qwen2.5" resolves to qwen2.5:latest, which this host does not have
	// either; "qwen2.5:7b" is there.
	if w.r.Hosts()[0].Has("qwen2.5") || !w.r.Hosts()[0].Has("qwen2.5:7b") {
		t.Fatal("model name resolution")
	}
}

// The probes take a host out after three failures and back after one good
// probe.
func TestProbe_HealthTransitions(t *testing.T) {
	up := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			rw.WriteHeader(500)
			return
		}
		if r.URL.Path == "/api/version" {
			_, _ = rw.Write([]byte(`{"version":"0.13.5"}`))
			return
		}
		_, _ = rw.Write([]byte(`{"models":[{"name":"llama3.2:3b"}]}`))
	}))
	t.Cleanup(srv.Close)
	w := newWorld(t, 0, 5, func(c *routing.Config) {
		c.Hosts = []*routing.Host{routing.NewHost(upstream.New(upstream.Local, srv.URL, "", upstream.DefaultTimeouts), 1)}
	})
	h := w.r.Hosts()[0]
	set := func(v bool) { mu.Lock(); up = v; mu.Unlock() }
	set(false)
	for i := range 3 {
		if !h.Healthy() {
			t.Fatalf("out after %d failures", i)
		}
		w.r.Probe(context.Background())
	}
	if h.Healthy() {
		t.Fatal("still in service after 3 failed probes")
	}
	if _, err := serve(t, w, "b", small, basic, ok); !errors.Is(err, routing.ErrNoBackend) {
		t.Fatalf("serve with the only host out: %v", err)
	}
	set(true)
	w.r.Probe(context.Background())
	if !h.Healthy() {
		t.Fatal("one good probe did not bring it back")
	}
}

// BenchmarkRouter_Serve is the cost of one routing decision on the hot
// path: pick the eligible hosts, take a slot, release it (the upstream
// call is a no-op).
func BenchmarkRouter_Serve(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func(b *testing.B) capacity.Store
		model *catalog.Model
	}{
		{"local/memory", func(*testing.B) capacity.Store { return capacitymem.New(capacitymem.Config{}) }, small},
		{"local/redis", func(b *testing.B) capacity.Store {
			env := testenv.Redis(b)
			s, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: env.Prefix})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}, small},
		{"cloud-only/redis-budget", func(*testing.B) capacity.Store { return capacitymem.New(capacitymem.Config{}) }, cloud},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b, 2, cloudbudget.MaxCap, func(c *routing.Config) { c.Capacity = tc.store(b); c.Threshold = 3 })
			ctx := context.Background()
			req := routing.Request{ID: "bench", Model: tc.model, Plan: pro}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				l, err := w.r.Serve(ctx, req, ok)
				if err != nil {
					b.Fatal(err)
				}
				l.Release()
			}
		})
	}
}
