package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/store"
)

// The embedded database moves to another server (here a second embedded one) in one command;
// run again, it copies nothing.
func TestMigrate_MovesTheEmbeddedDatabaseAndSaysHowToStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	src, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.DB.Collection("threads").InsertMany(ctx, []any{bson.M{"title": "Kopi Gayo"}, bson.M{"title": "Rice cooker"}}); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dst, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close(ctx)

	if _, err := runCmd(t, "migrate", "--data", dir); err == nil || !strings.Contains(err.Error(), "--to is required") {
		t.Fatalf("without --to: %v", err)
	}
	out, err := runCmd(t, "migrate", "--data", dir, "--to", dst.URI)
	if err != nil || !strings.Contains(out, "copied 2") || !strings.Contains(out, "MONGODB_URI='"+dst.URI+"' guyub serve") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if n, err := dst.DB.Collection("threads").CountDocuments(ctx, bson.M{}); err != nil || n != 2 {
		t.Fatalf("threads on the target: %d %v", n, err)
	}
	out, err = runCmd(t, "migrate", "--data", dir, "--to", dst.URI)
	if err != nil || !strings.Contains(out, "already there") || !strings.Contains(out, "(0 copied by this run)") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
}
