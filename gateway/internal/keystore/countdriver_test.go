package keystore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
)

// queryLog records every statement that reaches the database driver through
// a counted pool. It wraps the real driver, so it proves what the database
// saw, whoever sent it.
type queryLog struct {
	mu   sync.Mutex
	stmt []string
}

func (l *queryLog) add(q string) {
	l.mu.Lock()
	l.stmt = append(l.stmt, strings.Join(strings.Fields(q), " "))
	l.mu.Unlock()
}

// Count returns how many statements ran so far.
func (l *queryLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.stmt)
}

// Since returns the statements after the first n.
func (l *queryLog) Since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stmt[n:]...)
}

// countedDB is a fresh, migrated database of backend b, opened a second
// time through a driver wrapper that logs every statement. The returned
// database.DB has only SQL and Dialect, which is all keystore uses.
func countedDB(t *testing.T, b testenv.Backend) (*database.DB, *database.DB, *queryLog) {
	t.Helper()
	plain, dsn := testenv.Open(t, b)
	parsed, err := database.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := &queryLog{}
	sqlDB := sql.OpenDB(&countingConnector{drv: plain.SQL.Driver(), dsn: parsed.Driver, log: log})
	t.Cleanup(func() { _ = sqlDB.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(ctx); err != nil {
		t.Fatalf("ping counted database: %v", err)
	}
	return &database.DB{SQL: sqlDB, Dialect: plain.Dialect}, plain, log
}

type countingConnector struct {
	drv driver.Driver
	dsn string
	log *queryLog
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var (
		conn driver.Conn
		err  error
	)
	if dc, ok := c.drv.(driver.DriverContext); ok {
		var cn driver.Connector
		if cn, err = dc.OpenConnector(c.dsn); err == nil {
			conn, err = cn.Connect(ctx)
		}
	} else {
		conn, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, log: c.log}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.drv }

// countingConn logs statements run directly on the connection and hands
// out statements that log their executions; everything else is forwarded.
type countingConn struct {
	driver.Conn
	log *queryLog
}

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, q)
	} else {
		st, err = c.Conn.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, q: q, log: c.log}, nil
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := qc.QueryContext(ctx, q, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.log.add(q)
	}
	return rows, err
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := ec.ExecContext(ctx, q, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.log.add(q)
	}
	return res, err
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // fallback for drivers without BeginTx
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingStmt struct {
	driver.Stmt
	q   string
	log *queryLog
}

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.log.add(s.q)
	return s.Stmt.Exec(args) //nolint:staticcheck // forwarded as the driver asked
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.log.add(s.q)
	return s.Stmt.Query(args) //nolint:staticcheck // forwarded as the driver asked
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.log.add(s.q)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Exec(vals) //nolint:staticcheck // fallback for drivers without contexts
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.log.add(s.q)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Query(vals) //nolint:staticcheck // fallback for drivers without contexts
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("named parameters are not supported")
		}
		out[i] = a.Value
	}
	return out, nil
}
