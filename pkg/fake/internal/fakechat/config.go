package fakechat

import "time"

// Config is the initial state of a fake. Build turns a zero Tokens into
// DefaultTokens; zero Parallel means no limit.
type Config struct {
	Models     []string
	Latency    time.Duration // before the first byte of a chat response
	ChunkDelay time.Duration // between streamed chunks
	Tokens     int           // completion tokens per reply
	Parallel   int           // OLLAMA_NUM_PARALLEL; 0 means unlimited
	MaxQueue   int           // OLLAMA_MAX_QUEUE; requests waiting beyond it get 503
	Version    string        // fakeollama's /api/version
	APIKeys    []string      // fakecloud's accepted bearer keys
}

// Option changes a Config.
type Option func(*Config)

// WithModels sets the installed models.
func WithModels(names ...string) Option {
	return func(c *Config) { c.Models = append([]string(nil), names...) }
}

// WithLatency sets the delay before the first byte of every chat response.
func WithLatency(d time.Duration) Option { return func(c *Config) { c.Latency = d } }

// WithChunkDelay sets the delay between streamed chunks.
func WithChunkDelay(d time.Duration) Option { return func(c *Config) { c.ChunkDelay = d } }

// WithTokens sets how many completion tokens a reply has.
func WithTokens(n int) Option { return func(c *Config) { c.Tokens = n } }

// WithParallel emulates OLLAMA_NUM_PARALLEL and OLLAMA_MAX_QUEUE: at most
// parallel chat requests generate at once, at most maxQueue wait for a slot,
// and any request beyond that is answered 503 at once.
func WithParallel(parallel, maxQueue int) Option {
	return func(c *Config) { c.Parallel, c.MaxQueue = parallel, maxQueue }
}

// Build applies opts over defaults.
func Build(defaults Config, opts []Option) Config {
	c := defaults
	if c.Tokens <= 0 {
		c.Tokens = DefaultTokens
	}
	for _, o := range opts {
		o(&c)
	}
	c.Tokens = max(c.Tokens, 0)
	return c
}
