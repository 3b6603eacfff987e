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
	"log/slog"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// SortedIterator passes on documents that the backend already returned in the order of sort
// (backends.QueryResult.Sorted), so nothing is buffered and a limit stops the query early.
// It checks each document against the one before and logs an error if they are out of
// MongoDB's order, which can only happen when a sorted field mixes BSON types that SQL
// orders differently.
//
// Guyub addition.
func SortedIterator(iter types.DocumentsIterator, closer *iterator.MultiCloser, sort *types.Document, l *slog.Logger) (types.DocumentsIterator, error) { //nolint:lll // for readability
	var sorts []sortFunc

	for _, key := range sort.Keys() {
		sortType, err := GetSortType(key, must.NotFail(sort.Get(key)))
		if err != nil {
			return nil, err
		}

		path, err := types.NewPathFromString(key)
		if err != nil {
			return nil, lazyerrors.Error(err)
		}

		sorts = append(sorts, lessFunc(path, sortType))
	}

	res := &sortedIterator{iter: iter, sorts: sorts, sort: sort, l: l}
	closer.Add(res)

	return res, nil
}

type sortedIterator struct {
	iter     types.DocumentsIterator
	sorts    []sortFunc
	sort     *types.Document
	l        *slog.Logger
	prev     *types.Document
	reported bool
}

// Next implements iterator.Interface.
func (s *sortedIterator) Next() (struct{}, *types.Document, error) {
	k, doc, err := s.iter.Next()
	if err != nil {
		return k, doc, err
	}

	if s.prev != nil && !s.reported {
		ds := &docsSorter{docs: []*types.Document{doc, s.prev}, sorts: s.sorts}
		if ds.Less(0, 1) {
			s.reported = true
			s.l.ErrorContext(
				context.Background(), "sort pushed down to the backend came out of order: a sorted field mixes types",
				slog.String("sort", types.FormatAnyValue(s.sort)),
			)
		}
	}

	s.prev = doc

	return k, doc, nil
}

// Close implements iterator.Interface.
func (s *sortedIterator) Close() {
	s.iter.Close()
}

// check interfaces
var (
	_ types.DocumentsIterator = (*sortedIterator)(nil)
)
