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

package fsql

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/FerretDB/FerretDB/internal/util/logging"
	"github.com/FerretDB/FerretDB/internal/util/resource"
)

// Tx wraps [*database/sql.Tx] with resource tracking.
//
// It exposes the subset of *sql.Tx methods we use.
type Tx struct {
	sqlTx *sql.Tx
	l     *slog.Logger
	token *resource.Token
	db    *DB // for its prepared statements (Guyub)
}

// wrapTx creates new Tx.
func wrapTx(tx *sql.Tx, l *slog.Logger) *Tx {
	if tx == nil {
		return nil
	}

	res := &Tx{
		sqlTx: tx,
		l:     l,
		token: resource.NewToken(),
	}

	resource.Track(res, res.token)

	return res
}

// Commit calls [*sql.Tx.Commit].
func (tx *Tx) Commit() error {
	resource.Untrack(tx, tx.token)
	return tx.sqlTx.Commit()
}

// Rollback calls [*sql.Tx.Rollback].
func (tx *Tx) Rollback() error {
	resource.Untrack(tx, tx.token)
	return tx.sqlTx.Rollback()
}

// QueryContext calls [*sql.Tx.QueryContext].
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	start := time.Now()

	debug(ctx, tx.l, ">>> ", query, slog.Any("args", args))

	rows, err := tx.sqlTx.QueryContext(ctx, query, args...)

	debug(ctx, tx.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(err))

	return wrapRows(rows), err
}

// QueryRowContext calls [*sql.Tx.QueryRowContext].
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	start := time.Now()

	debug(ctx, tx.l, ">>> ", query, slog.Any("args", args))

	row := tx.sqlTx.QueryRowContext(ctx, query, args...)

	debug(ctx, tx.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(row.Err()))

	return row
}

// ExecContext calls [*sql.Tx.ExecContext], with the statement prepared once (Guyub).
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	start := time.Now()

	debug(ctx, tx.l, ">>> ", query, slog.Any("args", args))

	var res sql.Result
	var err error

	if st := tx.db.stmt(ctx, query); tx.db != nil && st != nil {
		res, err = tx.sqlTx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		res, err = tx.sqlTx.ExecContext(ctx, query, args...)
	}

	debug(ctx, tx.l, "<<< ", query, slog.Any("args", args), slog.Duration("time", time.Since(start)), logging.Error(err))

	return res, err
}
