package billing

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Defaults of Config.
const (
	// DefaultInvoiceTTL is how long an invoice takes payments, 48 hours; a
	// pending payment is expired after it.
	DefaultInvoiceTTL = 48 * time.Hour
	// DefaultRecheckAge leaves a fresh payment to its webhook and its
	// browser return: only payments at least this old are re-checked.
	DefaultRecheckAge = 10 * time.Minute
	// DefaultRecheckEvery is how often one pending payment is asked about
	// at most (MyFatoorah rate-limits GetPaymentStatus per merchant account).
	DefaultRecheckEvery = 5 * time.Minute
	// DefaultReminderDays: the renewal reminder goes out this many Kuwait
	// days before the expiry's Kuwait day (see RemindRenewals).
	DefaultReminderDays = 3
	// ReturnPath is where MyFatoorah sends the browser back (callback and
	// error URL), relative to the public URL.
	ReturnPath = "/api/v1/billing/myfatoorah/return"
	// ResultPath is the SPA page the return redirects to.
	ResultPath = "/billing/result"
	// jobBatch bounds the rows one job pass reads per query.
	jobBatch = 100
)

// LiveWallet applies a grant committed to the ledger to the live (Redis)
// wallet once, by its reference, and marks the ledger row live
// (ledger.Service.ApplyLive). It is nil in embedded mode, where the
// database is the wallet and the commit is the live apply.
type LiveWallet interface {
	ApplyLive(ctx context.Context, g wallet.Grant) (bool, error)
}

// Balances reads an account's live balance for the billing overview.
type Balances interface {
	Balance(ctx context.Context, account resayil.AccountID) (wallet.Balance, error)
}

// Config assembles a Service. Store, Gateway, Events, Balances and
// PublicURL are required.
type Config struct {
	Store   Store
	Gateway PaymentGateway
	// Live is nil in embedded mode.
	Live     LiveWallet
	Balances Balances
	// Events tells the gateways about plan changes.
	Events accountevents.Publisher
	// Webhooks verifies and reads webhooks; nil refuses every webhook (the
	// return and the job still confirm payments).
	Webhooks WebhookParser
	// PublicURL is RESAYIL_PUBLIC_URL: the callback URLs and the SPA's
	// result page hang off it.
	PublicURL    string
	InvoiceTTL   time.Duration
	RecheckAge   time.Duration
	RecheckEvery time.Duration
	// ReminderDays is DefaultReminderDays unless positive.
	ReminderDays int
	// MaxPendingCheckouts is how many checkouts an account may have
	// waiting for payment; zero means DefaultMaxPendingCheckouts.
	MaxPendingCheckouts int
	// UnknownTTL and UnknownMax bound the memory of paymentIds that named
	// no payment of ours (see Return); zero means the defaults.
	UnknownTTL time.Duration
	UnknownMax int
	Now        func() time.Time
	Log        *slog.Logger
}

// Service is billing.
type Service struct {
	store        Store
	gateway      PaymentGateway
	live         LiveWallet
	balances     Balances
	events       accountevents.Publisher
	webhooks     WebhookParser
	public       string
	invoiceTTL   time.Duration
	recheckAge   time.Duration
	recheckEvery time.Duration
	reminderDays int
	unknown      *unknownIDs
	maxPending   int
	now          func() time.Time
	log          *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("billing: a Store is required")
	case cfg.Gateway == nil:
		return nil, errors.New("billing: a PaymentGateway is required")
	case cfg.Events == nil:
		return nil, errors.New("billing: an event publisher is required")
	case cfg.Balances == nil:
		return nil, errors.New("billing: a balance reader is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, errors.New("billing: the public URL must be absolute")
	}
	s := &Service{
		store: cfg.Store, gateway: cfg.Gateway, live: cfg.Live, balances: cfg.Balances, events: cfg.Events,
		webhooks: cfg.Webhooks, public: strings.TrimRight(cfg.PublicURL, "/"),
		invoiceTTL: orDefault(cfg.InvoiceTTL, DefaultInvoiceTTL), recheckAge: orDefault(cfg.RecheckAge, DefaultRecheckAge),
		recheckEvery: orDefault(cfg.RecheckEvery, DefaultRecheckEvery), reminderDays: cfg.ReminderDays,
		now: cfg.Now, log: cfg.Log,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reminderDays <= 0 {
		s.reminderDays = DefaultReminderDays
	}
	s.maxPending = cfg.MaxPendingCheckouts
	if s.maxPending <= 0 {
		s.maxPending = DefaultMaxPendingCheckouts
	}
	unknownMax := cfg.UnknownMax
	if unknownMax <= 0 {
		unknownMax = DefaultUnknownMax
	}
	s.unknown = newUnknownIDs(orDefault(cfg.UnknownTTL, DefaultUnknownTTL), unknownMax, s.now)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// clock returns the time as stored (dbtime.Of), so SQLite's text
// timestamps compare in order.
func (s *Service) clock() time.Time { return dbtime.Of(s.now()) }

// embedded reports whether the database is the live wallet.
func (s *Service) embedded() bool { return s.live == nil }

// ReturnURL is the callback and error URL given to MyFatoorah.
func (s *Service) ReturnURL() string { return s.public + ReturnPath }
