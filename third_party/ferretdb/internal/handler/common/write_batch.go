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

package common

import (
	"context"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// WriteBatch gathers the documents one update command changes and inserts, and writes them
// together: one transaction for each run of updates and each run of inserts, in the
// command's order, instead of one for each document (Guyub addition). On SQLite every transaction waits for the one writer and pays a
// commit, and a bulk write of 500 updates (a search sync marking what it indexed) or one
// update of many documents held that writer 500 times.
//
// The command's statements still see each other's changes: a statement is run only after
// the batch is written, unless its filter names one _id that is not in the batch.
// The caller must hold the collection's update lock (Handler.lockCollection) from the first
// document gathered until Flush.
type WriteBatch struct {
	c   backends.Collection
	ops []batchOp // in the command's order
	ids map[any]struct{}
}

// batchOp is a document to update, or to insert (an upsert).
type batchOp struct {
	doc    *types.Document
	insert bool
}

// maxBatch bounds a batch, so that one command does not hold SQLite's writer for long.
const maxBatch = 100

// NewWriteBatch returns an empty batch for c.
func NewWriteBatch(c backends.Collection) *WriteBatch {
	return &WriteBatch{c: c, ids: map[any]struct{}{}}
}

// Before is called before a statement with filter runs: the batch is written first unless
// the statement can only see a document the batch does not hold.
func (b *WriteBatch) Before(ctx context.Context, filter *types.Document) error {
	if len(b.ids) == 0 {
		return nil
	}

	if filter != nil {
		if id, err := filter.Get("_id"); err == nil {
			if key, ok := idKey(id); ok {
				if _, pending := b.ids[key]; !pending {
					return nil
				}
			}
		}
	}

	return b.Flush(ctx)
}

// add gathers a document to write.
func (b *WriteBatch) add(ctx context.Context, doc *types.Document, insert bool) error {
	b.ops = append(b.ops, batchOp{doc: doc, insert: insert})

	id, _ := doc.Get("_id")

	key, ok := idKey(id)
	if !ok {
		return b.Flush(ctx) // an _id Before cannot compare: written at once
	}

	b.ids[key] = struct{}{}

	if len(b.ops) >= maxBatch {
		return b.Flush(ctx)
	}

	return nil
}

// Flush writes what the batch holds, in order: each run of updates in one transaction, and
// each run of inserts in one. If a run fails (a unique index), its documents are written
// one at a time, so that those before the failing one are written and its error is
// returned, and nothing after it is, as without the batch.
func (b *WriteBatch) Flush(ctx context.Context) error {
	ops := b.ops
	b.ops = nil
	clear(b.ids)

	for len(ops) > 0 {
		n := 1
		for n < len(ops) && ops[n].insert == ops[0].insert {
			n++
		}

		run := make([]*types.Document, n)
		for i, op := range ops[:n] {
			run[i] = op.doc
		}

		insert := ops[0].insert

		err := b.write(ctx, run, insert)
		if err != nil && n > 1 {
			for _, doc := range run {
				if err = b.write(ctx, []*types.Document{doc}, insert); err != nil {
					break
				}
			}
		}

		if err != nil {
			return err
		}

		ops = ops[n:]
	}

	return nil
}

// write updates or inserts docs in one transaction.
func (b *WriteBatch) write(ctx context.Context, docs []*types.Document, insert bool) error {
	if insert {
		_, err := b.c.InsertAll(ctx, &backends.InsertAllParams{Docs: docs})
		return err // a duplicate key is told as such
	}

	if _, err := b.c.UpdateAll(ctx, &backends.UpdateAllParams{Docs: docs}); err != nil {
		return lazyerrors.Error(err)
	}

	return nil
}

// idKey is a comparable key of an _id that equals another's exactly when MongoDB would
// match them; ok is false for an _id of another type (a document, an array).
func idKey(id any) (key any, ok bool) {
	switch id := id.(type) {
	case types.ObjectID, string, bool:
		return id, true
	case int32:
		return float64(id), true // 1 and 1.0 are the same _id
	case int64:
		return float64(id), true // may meet a different number: a needless write, not a missed one
	case float64:
		return id, id == id // NaN equals nothing, not even itself
	case time.Time:
		return id.UnixMilli(), true
	default:
		return nil, false
	}
}
