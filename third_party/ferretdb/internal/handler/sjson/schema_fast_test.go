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

package sjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// Guyub: parseSchema reads every schema marshalSchemaForDoc writes as encoding/json does.
func TestParseSchema_AsEncodingJSON(t *testing.T) {
	doc := func(pairs ...any) *types.Document { return must.NotFail(types.NewDocument(pairs...)) }
	arr := func(values ...any) *types.Array { return must.NotFail(types.NewArray(values...)) }

	for name, d := range map[string]*types.Document{
		"empty": doc(),
		"scalars": doc("_id", types.ObjectID{1}, "s", "x", "d", 1.5, "b", true, "t", time.UnixMilli(1), "n", types.Null,
			"i", int32(1), "l", int64(2), "ts", types.Timestamp(3)),
		"binary and regex": doc("bin", types.Binary{B: []byte{1}, Subtype: types.BinaryUser},
			"re", types.Regex{Pattern: "a", Options: `i"m`}),
		"nested":   doc("a", doc("b", doc(), "c", arr()), "list", arr(doc("x", int32(1)), arr(int64(1), "y"), doc("x", int32(2)))),
		"odd keys": doc(`quo"te`, "1", "<html>&", "2", "ünï", "3", "tab\tkey", "4"),
	} {
		text, err := marshalSchemaForDoc(d)
		if err != nil {
			t.Fatal(err)
		}

		got, err := parseSchema(text)
		if err != nil {
			t.Errorf("%s: %s: %v", name, text, err)
			continue
		}

		want := new(schema)
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()

		if err := dec.Decode(want); err != nil {
			t.Fatal(err)
		}

		if !reflect.DeepEqual(got, want) {
			gotText, _ := json.Marshal(got)
			wantText, _ := json.Marshal(want)
			t.Errorf("%s: %s\nparsed %s\nwant   %s", name, text, gotText, wantText)
		}
	}

	// Anything else is left to encoding/json.
	for _, text := range []string{`{"p":{}}`, `{ "p":{},"$k":[]}`, `{"p":{"a":{"t":"string","x":1}},"$k":["a"]}`, `{"p":{"a":{"t":"what"}},"$k":["a"]}`} {
		if _, err := parseSchema([]byte(text)); err != errSlowPath {
			t.Errorf("%s: %v, want the slow path", text, err)
		}
	}
}

// Guyub: a find of a few fields decodes only those, in one pass: every kind of value before
// and after a kept field is skipped, not handed to the slow path.
func TestUnmarshalFast_KeepsOnlyTheFieldsRead(t *testing.T) {
	doc := func(pairs ...any) *types.Document { return must.NotFail(types.NewDocument(pairs...)) }
	arr := func(values ...any) *types.Array { return must.NotFail(types.NewArray(values...)) }
	full := doc("_id", types.ObjectID{1}, "s", `quo"te \ end`, "d", -1.5e-3, "b", true, "f", false, "t", time.UnixMilli(1),
		"n", types.Null, "i", int32(-1), "l", int64(2), "ts", types.Timestamp(3),
		"bin", types.Binary{B: []byte{1}, Subtype: types.BinaryUser}, "re", types.Regex{Pattern: "a", Options: "i"},
		"sub", doc("x", arr(doc("y", "}"), "]")), "list", arr(int32(1), "two", arr()), "last", "end")

	data, err := Marshal(full)
	if err != nil {
		t.Fatal(err)
	}

	for _, key := range full.Keys() {
		if key == "ts" || key == "bin" || key == "re" {
			continue // kept, the rare kinds go to the general decoder; passed over, they are skipped
		}

		got, err := unmarshalFast(data, map[string]bool{key: true})
		if err != nil {
			t.Errorf("keeping %s: %v", key, err)

			continue
		}

		want, _ := Marshal(doc(key, must.NotFail(full.Get(key))))
		if have, _ := Marshal(got); string(have) != string(want) {
			t.Errorf("keeping %s:\ngot  %s\nwant %s", key, have, want)
		}
	}
}
