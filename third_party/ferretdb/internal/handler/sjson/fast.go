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

// Guyub addition: a one-pass decoder for the documents Marshal writes.
//
// Unmarshal decoded every document into a map of raw messages, and then every value of it
// with a json.Decoder of its own: reading documents was most of the embedded server's time.
// unmarshalFast walks the bytes once, in the order Marshal wrote them, and reuses the parsed
// schema of documents of the same shape. Anything it does not expect (a type it does not
// handle, keys in another order) makes it give up, and Unmarshal takes the old way.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/FerretDB/FerretDB/internal/types"
)

var errSlowPath = errors.New("sjson: take the general decoder")

// schemas caches parsed schemas by their JSON text: documents of one collection mostly share
// a handful of shapes.
var schemas struct {
	sync.RWMutex
	byText map[string]*schema
	bytes  int // the length of the texts held
}

// The cache is emptied when it would pass either bound. Guyub: a document with arrays of
// objects (a customer's record) has a schema of its own, of several KB, which decodes to
// about four times that; 4,096 of them held 46 MB, most of an idle server's live heap.
const (
	maxCachedSchemas     = 4096
	maxCachedSchemaBytes = 2 << 20
)

func cachedSchema(text []byte) (*schema, error) {
	schemas.RLock()
	sch := schemas.byText[string(text)]
	schemas.RUnlock()

	if sch != nil {
		return sch, nil
	}

	sch, err := parseSchema(text)
	if err != nil {
		sch = new(schema)

		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()

		if err := dec.Decode(sch); err != nil {
			return nil, err
		}
	}

	schemas.Lock()
	if schemas.byText == nil || len(schemas.byText) >= maxCachedSchemas || schemas.bytes+len(text) > maxCachedSchemaBytes {
		schemas.byText, schemas.bytes = map[string]*schema{}, 0
	}
	schemas.byText[string(text)] = sch
	schemas.bytes += len(text)
	schemas.Unlock()

	return sch, nil
}

// fastDecoder reads one document's bytes.
type fastDecoder struct {
	data []byte
	pos  int
}

func unmarshalFast(data []byte, keep map[string]bool) (*types.Document, error) {
	const prefix = `{"$s":`
	if !bytes.HasPrefix(data, []byte(prefix)) {
		return nil, errSlowPath
	}

	d := &fastDecoder{data: data, pos: len(prefix)}

	start := d.pos
	if err := d.skipValue(); err != nil {
		return nil, err
	}

	sch, err := cachedSchema(data[start:d.pos])
	if err != nil {
		return nil, errSlowPath
	}

	doc := types.MakeDocument(len(sch.Keys))

	for _, key := range sch.Keys {
		// Marshal writes top-level keys as they are, in the schema's order
		if !d.consume(',') || !d.consume('"') || !bytes.HasPrefix(d.data[d.pos:], []byte(key)) {
			return nil, errSlowPath
		}

		d.pos += len(key)

		if !d.consume('"') || !d.consume(':') {
			return nil, errSlowPath
		}

		if keep != nil && !keep[key] {
			if err := d.skipAny(); err != nil {
				return nil, err
			}

			continue
		}

		v, err := d.value(sch.Properties[key])
		if err != nil {
			return nil, err
		}

		doc.Set(key, v)
	}

	if !d.consume('}') || d.pos != len(d.data) {
		return nil, errSlowPath
	}

	return doc, nil
}

func (d *fastDecoder) consume(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}

	return false
}

// value decodes the value at pos by its schema element.
func (d *fastDecoder) value(sch *elem) (any, error) {
	if bytes.HasPrefix(d.data[d.pos:], []byte("null")) {
		d.pos += 4
		return types.Null, nil
	}

	if sch == nil {
		return nil, errSlowPath
	}

	switch sch.Type {
	case elemTypeString:
		return d.str()
	case elemTypeObjectID:
		s, err := d.rawStr()
		if err != nil || len(s) != 24 {
			return nil, errSlowPath
		}

		var id types.ObjectID
		if _, err := hex.Decode(id[:], s); err != nil {
			return nil, errSlowPath
		}

		return id, nil
	case elemTypeInt:
		n, err := strconv.ParseInt(string(d.number()), 10, 32)
		if err != nil {
			return nil, errSlowPath
		}

		return int32(n), nil
	case elemTypeLong:
		n, err := strconv.ParseInt(string(d.number()), 10, 64)
		if err != nil {
			return nil, errSlowPath
		}

		return n, nil
	case elemTypeDate:
		n, err := strconv.ParseInt(string(d.number()), 10, 64)
		if err != nil {
			return nil, errSlowPath
		}

		return time.UnixMilli(n), nil
	case elemTypeDouble:
		f, err := strconv.ParseFloat(string(d.number()), 64)
		if err != nil {
			return nil, errSlowPath
		}

		return f, nil
	case elemTypeBool:
		switch {
		case bytes.HasPrefix(d.data[d.pos:], []byte("true")):
			d.pos += 4
			return true, nil
		case bytes.HasPrefix(d.data[d.pos:], []byte("false")):
			d.pos += 5
			return false, nil
		}

		return nil, errSlowPath
	case elemTypeObject:
		if sch.Schema == nil || !d.consume('{') {
			return nil, errSlowPath
		}

		doc := types.MakeDocument(len(sch.Schema.Keys))

		for i, key := range sch.Schema.Keys {
			if i > 0 && !d.consume(',') {
				return nil, errSlowPath
			}

			name, err := d.str()
			if err != nil || name != key || !d.consume(':') {
				return nil, errSlowPath
			}

			v, err := d.value(sch.Schema.Properties[key])
			if err != nil {
				return nil, err
			}

			doc.Set(key, v)
		}

		if !d.consume('}') {
			return nil, errSlowPath
		}

		return doc, nil
	case elemTypeArray:
		if !d.consume('[') {
			return nil, errSlowPath
		}

		arr := types.MakeArray(len(sch.Items))

		for i, item := range sch.Items {
			if i > 0 && !d.consume(',') {
				return nil, errSlowPath
			}

			v, err := d.value(item)
			if err != nil {
				return nil, err
			}

			arr.Append(v)
		}

		if !d.consume(']') {
			return nil, errSlowPath
		}

		return arr, nil
	default: // binData, regex, timestamp: rare, left to the general decoder
		return nil, errSlowPath
	}
}

// number returns the bytes of the number at pos.
func (d *fastDecoder) number() []byte {
	start := d.pos

	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			d.pos++
			continue
		}

		break
	}

	return d.data[start:d.pos]
}

// rawStr returns the bytes between the quotes of a string without escapes.
func (d *fastDecoder) rawStr() ([]byte, error) {
	if !d.consume('"') {
		return nil, errSlowPath
	}

	start := d.pos
	end := bytes.IndexByte(d.data[start:], '"')

	if end < 0 || bytes.IndexByte(d.data[start:start+end], '\\') >= 0 {
		return nil, errSlowPath
	}

	d.pos = start + end + 1

	return d.data[start : start+end], nil
}

// str decodes the JSON string at pos.
func (d *fastDecoder) str() (string, error) {
	if !d.consume('"') {
		return "", errSlowPath
	}

	start := d.pos

	// the common case: no escapes
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			if !utf8.Valid(d.data[start:i]) {
				return "", errSlowPath
			}

			d.pos = i + 1

			return string(d.data[start:i]), nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", errSlowPath
		}
	}

	return "", errSlowPath
}

// escapedStr decodes a string with escapes, from its first byte after the quote.
func (d *fastDecoder) escapedStr(start int) (string, error) {
	buf := make([]byte, 0, 64)

	for i := start; i < len(d.data); {
		c := d.data[i]

		switch {
		case c == '"':
			d.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			return "", errSlowPath
		case c != '\\':
			buf = append(buf, c)
			i++

			continue
		}

		if i+1 >= len(d.data) {
			return "", errSlowPath
		}

		switch e := d.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, n := d.unicodeEscape(i)
			if n == 0 {
				return "", errSlowPath
			}

			buf = utf8.AppendRune(buf, r)
			i += n

			continue
		default:
			return "", errSlowPath
		}

		i += 2
	}

	return "", errSlowPath
}

// unicodeEscape decodes \uXXXX (or a surrogate pair of them) at i, as encoding/json does:
// a lone surrogate becomes U+FFFD.
func (d *fastDecoder) unicodeEscape(i int) (rune, int) {
	r1, ok := hex4(d.data, i+2)
	if !ok {
		return 0, 0
	}

	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}

	if i+12 <= len(d.data) && d.data[i+6] == '\\' && d.data[i+7] == 'u' {
		if r2, ok := hex4(d.data, i+8); ok {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12
			}
		}
	}

	return utf8.RuneError, 6
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}

	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}

	return rune(n), true
}

// skipAny moves pos past the JSON value at pos, of any kind.
func (d *fastDecoder) skipAny() error {
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '{', '[', '"':
			return d.skipValue()
		}
	}

	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] != ',' && d.data[d.pos] != '}' {
		d.pos++
	}

	if d.pos == start {
		return errSlowPath
	}

	return nil
}

// skipValue moves pos past the object, array or string at pos.
func (d *fastDecoder) skipValue() error {
	depth := 0

	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case '"':
			d.pos++

			for d.pos < len(d.data) && d.data[d.pos] != '"' {
				if d.data[d.pos] == '\\' {
					d.pos++
				}

				d.pos++
			}

			d.pos++
		case '{', '[':
			depth++
			d.pos++
		case '}', ']':
			depth--
			d.pos++
		default:
			d.pos++

			continue
		}

		if depth == 0 {
			return nil
		}
	}

	return errSlowPath
}
