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

// Guyub addition: a one-pass reader for the schemas marshalSchemaForDoc writes.
//
// A document with arrays has a schema of its own (each item is described), so the cache of
// parsed schemas rarely holds a customer's record, and encoding/json took a fifth of the
// time of reading one. parseSchema reads exactly what marshalSchemaForDoc writes; anything
// else makes it give up, and cachedSchema takes encoding/json.

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/FerretDB/FerretDB/internal/types"
)

// scalarElems are the elements without parameters, shared by every parsed schema (which
// nobody changes once parsed).
var scalarElems = func() map[string]*elem {
	m := map[string]*elem{}
	for _, t := range []elemType{
		elemTypeDouble, elemTypeString, elemTypeObjectID, elemTypeBool, elemTypeDate,
		elemTypeNull, elemTypeInt, elemTypeTimestamp, elemTypeLong,
	} {
		m[string(t)] = &elem{Type: t}
	}
	return m
}()

// parseSchema reads a schema's JSON text as marshalSchemaForDoc writes it.
func parseSchema(text []byte) (*schema, error) {
	d := &fastDecoder{data: text}

	sch, err := d.schema()
	if err != nil {
		return nil, err
	}

	if d.pos != len(d.data) {
		return nil, errSlowPath
	}

	return sch, nil
}

// schema reads {} or {"p":{"key":elem,…},"$k":["key",…]}.
func (d *fastDecoder) schema() (*schema, error) {
	if d.literal(`{}`) {
		return new(schema), nil
	}

	if !d.literal(`{"p":{`) {
		return nil, errSlowPath
	}

	sch := &schema{Properties: map[string]*elem{}}

	for first := true; !d.consume('}'); first = false {
		if !first && !d.consume(',') {
			return nil, errSlowPath
		}

		key, err := d.str()
		if err != nil || !d.consume(':') {
			return nil, errSlowPath
		}

		e, err := d.elem()
		if err != nil {
			return nil, err
		}

		sch.Properties[key] = e
	}

	if !d.literal(`,"$k":[`) {
		return nil, errSlowPath
	}

	sch.Keys = make([]string, 0, len(sch.Properties))

	for first := true; !d.consume(']'); first = false {
		if !first && !d.consume(',') {
			return nil, errSlowPath
		}

		key, err := d.str()
		if err != nil {
			return nil, errSlowPath
		}

		sch.Keys = append(sch.Keys, key)
	}

	if !d.consume('}') {
		return nil, errSlowPath
	}

	return sch, nil
}

// objectElems caches parsed object elements by their text: the items of an array of
// objects (a customer's purchases) and the sub-documents most documents of a collection have
// share a few shapes, while the schemas around them differ. Emptied when it would pass the
// bounds.
var objectElems struct {
	sync.RWMutex
	byText map[string]*elem
	bytes  int
}

const (
	maxCachedElems     = 4096
	maxCachedElemBytes = 1 << 20
)

// elem reads {"t":"type"} and an object's schema, an array's items, a binary's subtype or a
// regex's options.
func (d *fastDecoder) elem() (*elem, error) {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(`{"t":"object",`)) {
		return d.parseElem()
	}

	start := d.pos
	if err := d.skipValue(); err != nil {
		return nil, errSlowPath
	}

	text := d.data[start:d.pos]

	objectElems.RLock()
	e := objectElems.byText[string(text)]
	objectElems.RUnlock()

	if e != nil {
		return e, nil
	}

	d.pos = start

	e, err := d.parseElem()
	if err != nil {
		return nil, err
	}

	objectElems.Lock()
	if objectElems.byText == nil || len(objectElems.byText) >= maxCachedElems || objectElems.bytes+len(text) > maxCachedElemBytes {
		objectElems.byText, objectElems.bytes = map[string]*elem{}, 0
	}
	objectElems.byText[string(text)] = e
	objectElems.bytes += len(text)
	objectElems.Unlock()

	return e, nil
}

func (d *fastDecoder) parseElem() (*elem, error) {
	if !d.literal(`{"t":`) {
		return nil, errSlowPath
	}

	t, err := d.rawStr()
	if err != nil {
		return nil, errSlowPath
	}

	if e := scalarElems[string(t)]; e != nil {
		if !d.consume('}') {
			return nil, errSlowPath
		}

		return e, nil
	}

	e := &elem{Type: elemType(t)}

	switch e.Type {
	case elemTypeObject:
		if !d.literal(`,"$s":`) {
			return nil, errSlowPath
		}

		if e.Schema, err = d.schema(); err != nil {
			return nil, err
		}

	case elemTypeArray:
		if !d.literal(`,"i":[`) {
			return nil, errSlowPath
		}

		e.Items = []*elem{}

		for first := true; !d.consume(']'); first = false {
			if !first && !d.consume(',') {
				return nil, errSlowPath
			}

			item, err := d.elem()
			if err != nil {
				return nil, err
			}

			e.Items = append(e.Items, item)
		}

	case elemTypeBinData:
		if !d.literal(`,"s":`) {
			return nil, errSlowPath
		}

		n, err := strconv.ParseUint(string(d.number()), 10, 8)
		if err != nil {
			return nil, errSlowPath
		}

		subtype := types.BinarySubtype(n)
		e.Subtype = &subtype

	case elemTypeRegex:
		if !d.literal(`,"o":`) {
			return nil, errSlowPath
		}

		options, err := d.str()
		if err != nil {
			return nil, errSlowPath
		}

		e.Options = &options

	default:
		return nil, errSlowPath
	}

	if !d.consume('}') {
		return nil, errSlowPath
	}

	return e, nil
}

// literal consumes s if the text at pos starts with it.
func (d *fastDecoder) literal(s string) bool {
	if len(d.data)-d.pos < len(s) || string(d.data[d.pos:d.pos+len(s)]) != s {
		return false
	}

	d.pos += len(s)

	return true
}
