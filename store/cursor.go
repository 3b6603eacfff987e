package store

import (
	"encoding/base64"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A key cursor names the last item of a page by its sort value and its _id, so the next
// page starts right after it: items added in between are neither repeated nor skipped.
// It is opaque to clients (base64 of "value.hex").

// EncodeCursor makes the cursor after an item with sort value v.
func EncodeCursor(v int64, id bson.ObjectID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(v, 10) + "." + id.Hex()))
}

// ParseCursor reads a cursor; ok is false for anything EncodeCursor did not make.
func ParseCursor(c string) (v int64, id bson.ObjectID, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, bson.ObjectID{}, false
	}
	num, hex, found := strings.Cut(string(raw), ".")
	v, err = strconv.ParseInt(num, 10, 64)
	id, err2 := bson.ObjectIDFromHex(hex)
	return v, id, found && err == nil && err2 == nil
}

// AfterDesc is the filter for what follows (v, id) in the order field descending, then
// _id descending.
func AfterDesc(field string, v any, id bson.ObjectID) bson.A {
	return bson.A{bson.M{field: bson.M{"$lt": v}}, bson.M{field: v, "_id": bson.M{"$lt": id}}}
}

// TrimPage cuts a list read with limit+1 to limit and, when there was more, returns the
// cursor of its last item.
func TrimPage[T any](list []*T, limit int, cursor func(*T) string) ([]*T, string) {
	if len(list) > limit {
		return list[:limit], cursor(list[limit-1])
	}
	return list, ""
}

// DescendingPage prepares a keyed page of a list ordered by field descending, then _id
// descending (field "": by _id alone): it adds the condition for what follows the cursor
// after to filter and returns the sort. value turns the cursor's number back into the
// field's value (nil: the number itself). ok is false for a cursor not made here.
func DescendingPage(filter bson.M, field, after string, value func(int64) any) (sort bson.D, ok bool) {
	if after != "" {
		v, id, valid := ParseCursor(after)
		if !valid {
			return nil, false
		}
		switch {
		case field == "":
			filter["_id"] = bson.M{"$lt": id}
		case value != nil:
			filter["$or"] = AfterDesc(field, value(v), id)
		default:
			filter["$or"] = AfterDesc(field, v, id)
		}
	}
	if field == "" {
		return bson.D{{Key: "_id", Value: -1}}, true
	}
	return bson.D{{Key: field, Value: -1}, {Key: "_id", Value: -1}}, true
}

// Limit is a page size asked for (n), or def when none was, and at most most.
func Limit(n, def, most int) int {
	if n <= 0 {
		return def
	}
	return min(n, most)
}
