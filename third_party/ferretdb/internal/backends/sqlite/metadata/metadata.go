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

// Package metadata provides access to databases and collections information.
package metadata

import (
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends"
)

// Collection will probably have a method for getting column name / SQLite path expression for the given document field
// once we implement field extraction.
// IDColumn probably should go away.
// TODO https://github.com/FerretDB/FerretDB/issues/226

const (
	// DefaultColumn is a column name for all fields.
	DefaultColumn = backends.ReservedPrefix + "sjson"

	// IDColumn is a SQLite path expression for _id field.
	//
	// Guyub: it is the same expression as the _id index (see FieldExpr), so that a lookup
	// by _id is an index seek; upstream queried ->'$._id' against an index on ->"_id" and scanned.
	IDColumn = DefaultColumn + `->>'$."_id"'`

	// RecordIDColumn is a name for RecordID column to store capped collection record id.
	RecordIDColumn = backends.ReservedPrefix + "record_id"
)

// Collection represents collection metadata.
//
// Collection value should be immutable to avoid data races.
// Use [deepCopy] to replace the whole value instead of modifying fields of existing value.
type Collection struct {
	Name      string
	TableName string
	Settings  Settings
}

// Capped returns true if collection is capped.
func (c Collection) Capped() bool {
	return c.Settings.CappedSize > 0
}

// deepCopy returns a deep copy.
func (c *Collection) deepCopy() *Collection {
	if c == nil {
		return nil
	}

	return &Collection{
		Name:      c.Name,
		TableName: c.TableName,
		Settings:  c.Settings.deepCopy(),
	}
}

// FieldExpr returns the SQLite expression for the value at a dotted document path, as an SQL
// value (->>): TEXT for strings and ObjectIDs (hex), INTEGER for integers, dates (Unix ms) and
// booleans, REAL for doubles, NULL for null or missing.
// Indexes are created on exactly this text and queries use it too, because SQLite matches an
// indexed expression only when the query spells it the same way.
// ok is false for paths that cannot be spelled as a plain JSON path (array indexes, quotes).
//
// Guyub addition.
func FieldExpr(path string) (expr string, ok bool) {
	lit, ok := FieldPath(path)
	if !ok {
		return "", false
	}

	return DefaultColumn + "->>" + lit, true
}

// FieldPath returns the SQL string literal of the JSON path of a dotted document path, as
// FieldExpr spells it (Guyub addition).
func FieldPath(path string) (literal string, ok bool) {
	var b strings.Builder
	b.WriteString("$")

	for _, part := range strings.Split(path, ".") {
		if part == "" || strings.ContainsAny(part, `"'\`) || strings.Trim(part, "0123456789") == "" ||
			strings.HasPrefix(part, "$") {
			return "", false
		}

		b.WriteString(`."`)
		b.WriteString(part)
		b.WriteString(`"`)
	}

	return "'" + b.String() + "'", true
}
