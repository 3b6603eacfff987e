package exports

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Source hands fn every document stored about a member, a page at a time, all the pages of
// one collection together.
type Source func(ctx context.Context, member bson.ObjectID, fn func(collection string, docs []bson.M) error) error

// WriteArchive writes the archive of member's data as of at, read from source, to w: one JSON
// object with a section per collection, each document in relaxed Extended JSON (dates and IDs
// readable), its secrets (hashes) left out as their places declare (store.MemberData.Omit).
// It is written as it is read, so it is never held whole: the download in the
// request and the one prepared in the background are the same bytes but for the time.
func WriteArchive(ctx context.Context, w io.Writer, member bson.ObjectID, at time.Time, source Source) error {
	out := &stickyWriter{w: w}
	fmt.Fprintf(out, "{\n \"member_id\": %q,\n \"exported_at\": %q,\n \"collections\": {", member.Hex(), at.UTC().Format(time.RFC3339))
	current, written, empty := "", map[string]bool{}, true
	err := source(ctx, member, func(collection string, docs []bson.M) error {
		if collection != current {
			if written[collection] {
				return fmt.Errorf("export: the pages of %s come apart", collection) // its section is closed
			}
			if current != "" {
				out.WriteString("],")
			}
			fmt.Fprintf(out, "\n  %q: [", collection)
			current, written[collection], empty = collection, true, true
		}
		for _, d := range docs {
			doc, err := bson.MarshalExtJSON(ordered(d), false, false)
			if err != nil {
				return fmt.Errorf("export %s: %w", collection, err)
			}
			// Compact, and <, > and & escaped: the archive is safe to open in a browser.
			doc, err = json.Marshal(json.RawMessage(doc))
			if err != nil {
				return fmt.Errorf("export %s: %w", collection, err)
			}
			if !empty {
				out.WriteString(",")
			}
			_, _ = out.Write(doc)
			empty = false
		}
		return out.err
	})
	if err != nil {
		return err
	}
	if current != "" {
		out.WriteString("]")
	}
	out.WriteString("\n }\n}\n")
	return out.err
}

// ordered is d with its fields in a fixed order, _id first and then by name: a document read
// as a map has none, and the same data makes the same archive.
func ordered(d bson.M) bson.D {
	out := make(bson.D, 0, len(d))
	if id, ok := d["_id"]; ok {
		out = append(out, bson.E{Key: "_id", Value: id})
	}
	for _, k := range slices.Sorted(maps.Keys(d)) {
		if k != "_id" {
			out = append(out, bson.E{Key: k, Value: d[k]})
		}
	}
	return out
}

// stickyWriter keeps the first error of its writes, so that a sequence of writes is
// checked once.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func (s *stickyWriter) WriteString(str string) {
	_, _ = s.Write([]byte(str))
}
