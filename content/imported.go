package content

import (
	"context"
	"time"
)

// Imported marks writes that bring content over from another system (guyub import): they
// keep its original date, are published as they were there (the rules that hold new
// members' content do not apply), and a review keeps its verified flag.
type Imported struct {
	At       time.Time
	Verified bool
}

type importedKey struct{}

// WithImported returns ctx carrying an import's facts for the writes made with it.
func WithImported(ctx context.Context, imp Imported) context.Context {
	return context.WithValue(ctx, importedKey{}, imp)
}

// ImportedFrom returns the import ctx carries, if any.
func ImportedFrom(ctx context.Context) (Imported, bool) {
	imp, ok := ctx.Value(importedKey{}).(Imported)
	return imp, ok
}

// Now is the time a write happens: the original date of imported content, else now().
func Now(ctx context.Context, now func() time.Time) time.Time {
	if imp, ok := ImportedFrom(ctx); ok && !imp.At.IsZero() {
		return imp.At.UTC()
	}
	return now()
}
