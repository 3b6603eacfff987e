package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/guyub/guyub/store"
)

// migrate copies the embedded database to MongoDB, for a community that has outgrown the
// embedded default: every collection and index, batched, resumable, verified.
func (p program) migrate(ctx context.Context, args []string) error {
	var to string
	cfg, err := loadConfig("guyub migrate", args, p.environ, p.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the MongoDB to copy to, e.g. mongodb://user:pass@host/guyub (required)")
	})
	if err != nil {
		return err
	}
	if to == "" {
		return errors.New("--to is required: the MongoDB URI to copy the embedded database to")
	}
	if err := store.ValidateURI(to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if cfg.MongoURI != "" {
		return errors.New("migrate copies the embedded database (GUYUB_DATA); MONGODB_URI is set, so there is none to copy")
	}
	if _, running := store.EmbeddedURI(cfg.DataDir); running {
		return errors.New("a server is running on GUYUB_DATA: stop it first, so nothing changes during the copy")
	}
	log := cfg.logger(p.stderr)
	src, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	client, dst, err := store.Connect(to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer client.Disconnect(context.Background())
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = client.Ping(pingCtx, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("--to: cannot reach MongoDB: %w", err)
	}

	started := time.Now()
	var bar *progressbar.ProgressBar
	current := ""
	rep, err := store.Migrate(ctx, src.DB, dst, func(coll string, done, total int64) {
		if coll != current {
			if bar != nil {
				_ = bar.Finish()
			}
			current = coll
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.stderr), progressbar.OptionSetDescription(coll),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set64(done)
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if rep != nil {
		var docs, copied int64
		for _, c := range rep.Collections {
			state := fmt.Sprintf("copied %d", c.Copied)
			if c.Skipped {
				state = "already there"
			}
			fmt.Fprintf(p.stdout, "%-28s %9d documents %3d indexes  %s, checksum %016x\n", c.Name, c.Docs, c.Indexes, state, c.Checksum)
			docs += c.Docs
			copied += c.Copied
		}
		fmt.Fprintf(p.stdout, "%d collections, %d documents (%d copied by this run) in %s\n", len(rep.Collections), docs, copied,
			time.Since(started).Round(time.Millisecond))
	}
	if err != nil {
		return fmt.Errorf("%w (run the same command again to resume)", err)
	}
	fmt.Fprintf(p.stdout, "\nEvery collection arrived and matches. Start the portal on MongoDB with:\n\n  MONGODB_URI='%s' guyub serve\n\n"+
		"The search index under %s/search still holds the same content; with Meilisearch (MEILISEARCH_URL), run guyub reindex once.\n", to, cfg.DataDir)
	return nil
}
