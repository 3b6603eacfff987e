package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/guyub/guyub/store"
)

// reindex rebuilds the search index from MongoDB, showing its progress on the terminal.
func (p program) reindex(ctx context.Context, args []string) error {
	cfg, err := loadConfig("guyub reindex", args, p.environ, p.stderr)
	if err != nil {
		return err
	}
	// The embedded Bleve index belongs to one process at a time.
	if _, running := store.EmbeddedURI(cfg.DataDir); running && cfg.MeiliURL == "" {
		return errors.New("a server is running on GUYUB_DATA: stop it first (the embedded search index is its own), or use Meilisearch")
	}
	log := cfg.logger(p.stderr)
	svc, err := openServices(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	index, syncer, err := svc.openSearch(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer index.Close()
	started := time.Now()
	var bar *progressbar.ProgressBar
	err = syncer.Reindex(ctx, func(done, total int) {
		if bar == nil {
			bar = newProgressBar(p.stderr, "reindex", total)
		}
		_ = bar.Set(done)
	})
	if err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(p.stdout, "reindexed in %s\n", time.Since(started).Round(time.Millisecond))
	return nil
}

// newProgressBar is a bar on the terminal counting to total, cleared when finished.
func newProgressBar(w io.Writer, description string, total int) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
}
