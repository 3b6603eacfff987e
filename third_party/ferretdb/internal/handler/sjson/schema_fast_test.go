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
