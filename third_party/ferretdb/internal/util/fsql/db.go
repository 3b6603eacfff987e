// Copyright 2021 FerretDB Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Package fsql provides [database/sql] utilities.
package fsql

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/logging"
	"github.com/FerretDB/FerretDB/internal/util/resource"
)

// DB wraps [*database/sql.DB] with tracing, metrics, logging, and resource tracking.
//
// It exposes the subset of *sql.DB methods we use except that it returns *Rows instead of *sql.Rows.
// It also exposes additional methods.
type DB struct {
	*metricsCollector

	sqlDB     *sql.DB
	l         *slog.Logger
	token     *resource.Token
	BatchSize int

	// Guyub: statements prepared once and reused (SQLite parsing them every time was a
	// tenth of a point read); database/sql prepares each again on every connection it uses.
	stmts     sync.Map // query → *sql.Stmt
	stmtCount atomic.Int32

	// Guyub: writes wait here for one another. SQLite takes one writer at a time, and a writer
	// that finds the lock taken sleeps in its busy handler (1, 2, 5, 10… ms) rather than being
	// woken when it is free: with eight writers most of a write's time went to those sleeps.
	// The embedded server is the only process on its file (Guyub's data-directory lock).
	writes sync.Mutex
}

// Write runs f, a write outside InTransaction, in turn with the other writes.
func (db *DB) Write(f func() error) error {
	db.writes.Lock()
	defer db.writes.Unlock()

	return f()
}

// maxStatements bounds the statement cache: queries differ by collection and by the number
// of values in an IN list, but not without end.
const maxStatements = 2000

// stmt returns the prepared statement for query, or nil when it is not cached (the cache is
// full, or preparing failed: the caller then runs the query unprepared and gets the error).
func (db *DB) stmt(ctx context.Context, query string) *sql.Stmt {
	if db == nil || strings.HasPrefix(query, "EXPLAIN") {
		return nil
	}

	if v, ok := db.stmts.Load(query); ok {
		return v.(*sql.Stmt)
	}

	if db.stmtCount.Load() >= maxStatements {
		return nil
	}

	st, err := db.sqlDB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}

	if v, loaded := db.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt)
	}

	db.stmtCount.Add(1)

	return st
}

// debug logs a statement when debug logging is on; building the message costs, so not
// otherwise (Guyub).
func debug(ctx context.Context, l *slog.Logger, prefix, query string, fields ...any) {
	if l.Enabled(ctx, slog.LevelDebug) {
		l.With(fields...).DebugContext(ctx, prefix+query)
	}
}

// WrapDB creates a new DB.
//
// Name is used for metric label values, etc.
// Logger (that will be named) is used for query logging.
func WrapDB(db *sql.DB, name string, l *slog.Logger) *DB {
	if db == nil {
		return nil
	}

	res := &DB{
		metricsCollector: newMetricsCollector(name, db.Stats),
		sqlDB:            db,
		l:                logging.WithName(l, name),
		token:            resource.NewToken(),
	}

	resource.Track(res, res.token)

	return res
}

// Close calls [*sql.DB.Close].
func (db *DB) Close() error {
	resource.Untrack(db, db.token)

	db.stmts.Range(func(_, v any) bool {
		_ = v.(*sql.Stmt).Close()
		return true
	})

	return db.sqlDB.Close()
}

// Checkpoint copies the write-ahead log into the database file and truncates it, if it can
// within a moment: it waits at most 100 ms for readers of older snapshots, so writers are
// never held up longer (Guyub addition, see pool.checkpoints).
func (db *DB) Checkpoint(ctx context.Context) error {
	conn, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	if _, err = conn.ExecContext(ctx, "PRAGMA busy_timeout = 100"); err != nil {
		return err
	}

	var busy, logFrames, checkpointed int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)

	if _, rerr := conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); err == nil {
		err = rerr
	}

	return err
}

// Ping calls [*sql.DB.Ping].
func (db *DB) Ping(ctx context.Context) error {
	return db.sqlDB.Ping()
}

// QueryContext calls [*sql.DB.QueryContext].
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	start := time.Now()

	debug(ctx, db.l, ">>> ", query, slog.Any("args", args))

	var rows *sql.Rows
	var err error

	if st := db.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.sqlDB.QueryContext(ctx, query, args...)
	}

	debug(ctx, db.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(err))

	return wrapRows(rows), err
}

// QueryRowContext calls [*sql.DB.QueryRowContext].
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	start := time.Now()

	debug(ctx, db.l, ">>> ", query, slog.Any("args", args))

	row := db.sqlDB.QueryRowContext(ctx, query, args...)

	debug(ctx, db.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(row.Err()))

	return row
}

// ExecContext calls [*sql.DB.ExecContext].
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	start := time.Now()

	debug(ctx, db.l, ">>> ", query, slog.Any("args", args))

	res, err := db.sqlDB.ExecContext(ctx, query, args...)

	debug(ctx, db.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(err))

	return res, err
}

// InTransaction wraps the given function f in a transaction.
//
// If f returns an error or context is canceled, the transaction is rolled back.
func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {
	db.writes.Lock() // Guyub: see DB.writes
	defer db.writes.Unlock()

	var sqlTx *sql.Tx

	if sqlTx, err = db.sqlDB.BeginTx(ctx, nil); err != nil {
		err = lazyerrors.Error(err)
		return
	}

	tx := wrapTx(sqlTx, db.l)
	tx.db = db

	var done bool

	defer func() {
		// It is not enough to check `err == nil` there,
		// because in tests `f` could contain testify/require.XXX or `testing.TB.FailNow()` calls
		// that call `runtime.Goexit()`, leaving `err` unset in `err = f(tx)` below.
		// This situation would hang a test.
		//
		// As a bonus, checking a separate variable also handles any panics in `f`,
		// including `panic(nil)` that is problematic for tests too.
		if done {
			return
		}

		if err == nil {
			err = lazyerrors.Errorf("transaction was not committed")
		}

		_ = tx.Rollback()
	}()

	if err = f(tx); err != nil {
		// do not wrap f's error because the caller depends on it in some cases
		return
	}

	if err = tx.Commit(); err != nil {
		err = lazyerrors.Error(err)
		return
	}

	done = true

	return
}

// check interfaces
var (
	_ prometheus.Collector = (*DB)(nil)
)
