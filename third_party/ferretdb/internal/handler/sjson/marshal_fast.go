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

// Guyub addition: Marshal in one pass into one buffer.
//
// Upstream built the schema and each value in buffers of their own, nested as deep as the
// document, and encoded every key and string with encoding/json: a third of the time of an
// update of a customer's record (7.8 KB with its schema) went to Marshal. This writes the
// same bytes (marshal_fast_test.go checks it against upstream's code); what it has no fast
// path for (a string to escape, a binary, a regex, a timestamp, a number JSON cannot hold)
// it hands to upstream's code.

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// marshalFast is Marshal's body.
func marshalFast(d *types.Document) ([]byte, error) {
	b := make([]byte, 0, 1024)
	b = append(b, `{"$s":`...)

	b, err := appendSchema(b, d)
	if err != nil {
		return nil, err
	}

	for i := range d.Len() {
		key, value := d.Field(i)
		// Upstream writes top-level keys as they are (the handler has validated them).
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')

		if b, err = appendValue(b, value); err != nil {
			return nil, err
		}
	}

	return append(b, '}'), nil
}

// appendSchema appends what marshalSchemaForDoc returns.
func appendSchema(b []byte, d *types.Document) ([]byte, error) {
	if d.Len() == 0 {
		return append(b, "{}"...), nil
	}

	b = append(b, `{"p":{`...)

	var err error
	for i := range d.Len() {
		if i > 0 {
			b = append(b, ',')
		}

		key, value := d.Field(i)
		b = appendString(b, key)
		b = append(b, ':')

		if b, err = appendElem(b, value); err != nil {
			return nil, err
		}
	}

	b = append(b, `},"$k":[`...)
	for i := range d.Len() {
		if i > 0 {
			b = append(b, ',')
		}

		key, _ := d.Field(i)
		b = appendString(b, key)
	}

	return append(b, "]}"...), nil
}

// appendElem appends what marshalElemForSingleValue returns.
func appendElem(b []byte, v any) ([]byte, error) {
	var err error

	switch v := v.(type) {
	case *types.Document:
		b = append(b, `{"t":"object","$s":`...)
		if b, err = appendSchema(b, v); err != nil {
			return nil, err
		}

		return append(b, '}'), nil

	case *types.Array:
		b = append(b, `{"t":"array","i":[`...)
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}

			item, _ := v.Get(i)
			if b, err = appendElem(b, item); err != nil {
				return nil, err
			}
		}

		return append(b, "]}"...), nil

	case float64:
		return append(b, `{"t":"double"}`...), nil
	case string:
		return append(b, `{"t":"string"}`...), nil
	case types.ObjectID:
		return append(b, `{"t":"objectId"}`...), nil
	case bool:
		return append(b, `{"t":"bool"}`...), nil
	case time.Time:
		return append(b, `{"t":"date"}`...), nil
	case types.NullType:
		return append(b, `{"t":"null"}`...), nil
	case int32:
		return append(b, `{"t":"int"}`...), nil
	case int64:
		return append(b, `{"t":"long"}`...), nil
	}

	elem, err := marshalElemForSingleValue(v)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	return append(b, elem...), nil
}

// appendValue appends what MarshalSingleValue returns.
func appendValue(b []byte, v any) ([]byte, error) {
	var err error

	switch v := v.(type) {
	case *types.Document:
		b = append(b, '{')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}

			key, value := v.Field(i)
			b = appendString(b, key)
			b = append(b, ':')

			if b, err = appendValue(b, value); err != nil {
				return nil, err
			}
		}

		return append(b, '}'), nil

	case *types.Array:
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}

			item, _ := v.Get(i)
			if b, err = appendValue(b, item); err != nil {
				return nil, err
			}
		}

		return append(b, ']'), nil

	case string:
		return appendString(b, v), nil

	case types.ObjectID:
		b = append(b, '"')
		b = appendHex(b, v)
		return append(b, '"'), nil

	case bool:
		return strconv.AppendBool(b, v), nil

	case time.Time:
		return strconv.AppendInt(b, v.UnixMilli(), 10), nil

	case types.NullType:
		return append(b, "null"...), nil

	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil

	case int64:
		return strconv.AppendInt(b, v, 10), nil

	case float64:
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			return appendFloat(b, v), nil
		}
	}

	value, err := MarshalSingleValue(v)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	return append(b, value...), nil
}

// appendString appends s as encoding/json writes it: a string of printable ASCII that JSON,
// HTML and JavaScript need no escapes for goes as it is, anything else to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}

	b = append(b, '"')
	b = append(b, s...)

	return append(b, '"')
}

// appendFloat appends a finite f as encoding/json writes it: the shortest form, with an
// exponent only for very small and very large magnitudes.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}

	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 as e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}

	return b
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, src types.ObjectID) []byte {
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}

	return b
}
