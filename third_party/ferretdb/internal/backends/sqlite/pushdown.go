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

package sqlite

// Guyub addition: filters and sorts answered by SQLite and its indexes.
//
// Upstream FerretDB v1 pushed down only a filter that was exactly {_id: value} and decoded
// every document for anything else. Here the parts of a filter that SQLite can evaluate become
// a WHERE clause on the same expressions the indexes are built on (metadata.FieldExpr), and a
// sort on fields becomes an ORDER BY. The WHERE clause may select more documents than the
// filter (the handler always applies the whole filter again), never fewer:
//
//   - a condition on a path that has held an array anywhere in the collection is not pushed
//     down, since MongoDB matches array elements there (metadata.Settings.ArrayPaths);
//   - SQL values conflate some BSON types (an ObjectID and its hex string, true and 1, a date
//     and its Unix milliseconds): that only adds documents, which the handler drops;
//   - operators that SQL cannot answer this way ($ne, $exists, $regex, …) are left out.
//
// A pushed-down sort is in MongoDB's order when each sorted field holds values of one BSON
// type (plus null or missing) among the documents that match, which is how applications use
// sort keys; sortGuard logs an error if a result ever comes out of order.

import (
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// pushdown translates filters and sorts for one collection.
type pushdown struct {
	arrays []string // paths that hold arrays in some document
	known  bool     // arrays is complete; without it only _id is pushed down
}

func newPushdown(meta *metadata.Collection) pushdown {
	return pushdown{arrays: meta.Settings.ArrayPaths, known: meta.Settings.ArrayPathsKnown}
}

// expr returns the SQL expression for path when a condition on it can be pushed down.
func (p pushdown) expr(path string) (string, bool) {
	if !p.known && path != "_id" {
		return "", false
	}

	for _, a := range p.arrays {
		if path == a || strings.HasPrefix(path, a+".") {
			return "", false
		}
	}

	return metadata.FieldExpr(path)
}

// where returns an SQL condition that every document matching filter satisfies, or "" when
// no part of the filter can be pushed down.
func (p pushdown) where(filter *types.Document) (string, []any) {
	var conds []string
	var args []any

	for _, key := range filter.Keys() {
		value := must.NotFail(filter.Get(key))

		var cond string
		var condArgs []any

		switch key {
		case "$and":
			cond, condArgs = p.and(value)
		case "$or":
			cond, condArgs = p.or(value)
		default:
			if strings.HasPrefix(key, "$") {
				continue
			}

			cond, condArgs = p.field(key, value)
		}

		if cond != "" {
			conds = append(conds, cond)
			args = append(args, condArgs...)
		}
	}

	return strings.Join(conds, " AND "), args
}

// and pushes down each branch of $and that can be.
func (p pushdown) and(value any) (string, []any) {
	branches, ok := value.(*types.Array)
	if !ok {
		return "", nil
	}

	var conds []string
	var args []any

	for i := 0; i < branches.Len(); i++ {
		doc, ok := must.NotFail(branches.Get(i)).(*types.Document)
		if !ok {
			return "", nil
		}

		if cond, condArgs := p.where(doc); cond != "" {
			conds = append(conds, "("+cond+")")
			args = append(args, condArgs...)
		}
	}

	return strings.Join(conds, " AND "), args
}

// or pushes down $or only when every branch can be: a branch left out would drop the
// documents that match only it.
func (p pushdown) or(value any) (string, []any) {
	branches, ok := value.(*types.Array)
	if !ok || branches.Len() == 0 {
		return "", nil
	}

	var conds []string
	var args []any

	for i := 0; i < branches.Len(); i++ {
		doc, ok := must.NotFail(branches.Get(i)).(*types.Document)
		if !ok {
			return "", nil
		}

		cond, condArgs := p.where(doc)
		if cond == "" {
			return "", nil
		}

		conds = append(conds, "("+cond+")")
		args = append(args, condArgs...)
	}

	return "(" + strings.Join(conds, " OR ") + ")", args
}

// field pushes down the conditions on one path: equality with a scalar, or a document of
// $eq, $in, $gt, $gte, $lt, $lte (others are left to the handler).
func (p pushdown) field(path string, value any) (string, []any) {
	expr, ok := p.expr(path)
	if !ok {
		return p.elements(path, value)
	}

	return conditions(expr, value)
}

// elements pushes down a condition on a path that holds arrays, such as {tags: "kopi"}: it
// holds when the value at the path, or one of its elements, satisfies it (json_each yields a
// scalar itself, and an array's elements). No index serves it, but SQLite answers it without
// the handler decoding every document. null is left out: {tags: null} matches a missing
// field, which has no elements.
func (p pushdown) elements(path string, value any) (string, []any) {
	if !p.known || !slices.Contains(p.arrays, path) {
		return "", nil
	}

	for _, a := range p.arrays {
		if strings.HasPrefix(path, a+".") {
			return "", nil
		}
	}

	lit, ok := metadata.FieldPath(path)
	if !ok {
		return "", nil
	}

	cond, args := conditions("value", value)
	if cond == "" || strings.Contains(cond, "IS NULL") {
		return "", nil
	}

	return "EXISTS (SELECT 1 FROM json_each(" + metadata.DefaultColumn + ", " + lit + ") WHERE " + cond + ")", args
}

// conditions is the condition on expr for a filter's value at one path: equality with a
// scalar, or a document of operators.
func conditions(expr string, value any) (string, []any) {
	ops, isDoc := value.(*types.Document)
	if !isDoc {
		return equal(expr, value)
	}

	keys := ops.Keys()
	if len(keys) == 0 || !strings.HasPrefix(keys[0], "$") {
		return "", nil // equality with an embedded document
	}

	var conds []string
	var args []any

	for _, op := range keys {
		operand := must.NotFail(ops.Get(op))

		var cond string
		var condArgs []any

		switch op {
		case "$eq":
			cond, condArgs = equal(expr, operand)
		case "$in":
			cond, condArgs = in(expr, operand)
		case "$gt", "$gte", "$lt", "$lte":
			if _, isBool := operand.(bool); isBool {
				continue
			}

			v, ok := sqlValue(operand)
			if !ok {
				continue
			}

			cond = expr + map[string]string{"$gt": " > ?", "$gte": " >= ?", "$lt": " < ?", "$lte": " <= ?"}[op]
			condArgs = []any{v}
		}

		if cond != "" {
			conds = append(conds, cond)
			args = append(args, condArgs...)
		}
	}

	return strings.Join(conds, " AND "), args
}

// equal is the condition for {path: value}.
func equal(expr string, value any) (string, []any) {
	if value == types.Null {
		return expr + " IS NULL", nil
	}

	v, ok := sqlValue(value)
	if !ok {
		return "", nil
	}

	return expr + " = ?", []any{v}
}

// in is the condition for {path: {$in: values}}.
func in(expr string, value any) (string, []any) {
	values, ok := value.(*types.Array)
	if !ok {
		return "", nil
	}

	if values.Len() == 0 {
		return "0", nil // matches nothing, as in MongoDB
	}

	var placeholders []string
	var args []any
	var null bool

	for i := 0; i < values.Len(); i++ {
		v := must.NotFail(values.Get(i))
		if v == types.Null {
			null = true
			continue
		}

		sv, ok := sqlValue(v)
		if !ok {
			return "", nil
		}

		placeholders = append(placeholders, "?")
		args = append(args, sv)
	}

	cond := expr + " IN (" + strings.Join(placeholders, ", ") + ")"

	switch {
	case null && len(placeholders) == 0:
		return expr + " IS NULL", nil
	case null:
		return "(" + expr + " IS NULL OR " + cond + ")", args
	default:
		return cond, args
	}
}

// sqlValue returns the SQL value that FieldExpr yields for a stored scalar v.
func sqlValue(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case types.ObjectID:
		return hex.EncodeToString(v[:]), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}

		return v, true
	case bool:
		if v {
			return int64(1), true
		}

		return int64(0), true
	case time.Time:
		return v.UnixMilli(), true
	default:
		return nil, false
	}
}

// orderBy returns the ORDER BY clause for a sort document ({path: 1 | -1, …}), or false when
// some path cannot be sorted by SQLite.
func (p pushdown) orderBy(sort *types.Document) (string, bool) {
	if sort.Len() == 0 {
		return "", false
	}

	parts := make([]string, 0, sort.Len())

	for _, key := range sort.Keys() {
		expr, ok := p.expr(key)
		if !ok {
			return "", false
		}

		switch must.NotFail(sort.Get(key)) {
		case int64(1), int32(1), float64(1):
			parts = append(parts, expr)
		case int64(-1), int32(-1), float64(-1):
			parts = append(parts, expr+" DESC")
		default:
			return "", false
		}
	}

	return " ORDER BY " + strings.Join(parts, ", "), true
}

// arrayPaths appends to out the paths of doc that hold arrays.
func arrayPaths(doc *types.Document, prefix string, out []string) []string {
	for _, key := range doc.Keys() {
		switch v := must.NotFail(doc.Get(key)).(type) {
		case *types.Array:
			out = append(out, prefix+key)
		case *types.Document:
			out = arrayPaths(v, prefix+key+".", out)
		}
	}

	return out
}

// idArg returns the SQL argument that matches metadata.IDColumn for an _id value.
func idArg(id any) any {
	if v, ok := sqlValue(id); ok {
		return v
	}

	// a document _id: ->> yields its JSON text
	return string(must.NotFail(sjson.MarshalSingleValue(id)))
}
