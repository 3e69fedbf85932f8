// Command seed-usage is a development tool: it fills one account of a
// migrated portal database with synthetic usage (records and their hourly
// rollup, multi-row INSERTs), to measure the usage routes on realistic
// volumes. Never run it against production data.
//
//	go run ./portal-api/cmd/seed-usage -dsn 'root@tcp(127.0.0.1:3306)/bench?parseTime=true' -email fatima@example.com
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/portal-api/internal/usage/usageseed"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seed-usage:", err)
		os.Exit(1)
	}
}

func run() error {
	dsn := flag.String("dsn", os.Getenv("RESAYIL_DB_DSN"), "the database (default $RESAYIL_DB_DSN)")
	account := flag.Int64("account", 0, "the account to fill (or -email)")
	email := flag.String("email", "", "fill the personal account of this user")
	records := flag.Int("records", 1_000_000, "usage records to make")
	days := flag.Int("days", 90, "spread them over this many days, ending now")
	flag.Parse()
	if *dsn == "" {
		return fmt.Errorf("no -dsn and no RESAYIL_DB_DSN")
	}
	ctx := context.Background()
	db, err := database.Open(ctx, *dsn, database.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if *email != "" {
		if err := db.SQL.QueryRowContext(ctx, `SELECT account_id FROM users WHERE email = ?`, *email).Scan(account); err != nil {
			return fmt.Errorf("find %s: %w", *email, err)
		}
	}
	if *account <= 0 {
		return fmt.Errorf("give -account or -email")
	}
	var keys []int64
	rows, err := db.SQL.QueryContext(ctx, `SELECT id FROM api_keys WHERE account_id = ? ORDER BY id LIMIT 3`, *account)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, id)
	}
	rows.Close()
	start := time.Now()
	err = usageseed.Seed(ctx, db, usageseed.Options{
		Account: *account, Records: *records, Span: time.Duration(*days) * 24 * time.Hour,
		KeyIDs: append([]int64{0}, keys...), Prefix: fmt.Sprintf("seed-%d-%d-", *account, start.UnixNano()),
	})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d usage records of account %d over %d days in %s\n", *records, *account, *days, time.Since(start).Round(time.Millisecond))
	return nil
}
