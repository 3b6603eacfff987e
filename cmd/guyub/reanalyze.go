package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/guyub/guyub/search"
)

// reanalyze gives insights every piece of feedback and reads each again with the shipped
// model and the current themes, showing its progress. A running server does the same by
// itself (its reanalyse job), so this refuses to run beside one.
func (p program) reanalyze(ctx context.Context, args []string) error {
	cfg, err := loadConfig("guyub reanalyze", args, p.environ, p.stderr)
	if err != nil {
		return err
	}
	log := cfg.logger(p.stderr)
	svc, err := openServices(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	started := time.Now()
	var feeding, reading *progressbar.ProgressBar
	total, read := 0, 0
	err = svc.analyseAll(ctx, svc.syncer(nil, log), log, func(done, n int) {
		if feeding == nil {
			feeding, total = newProgressBar(p.stderr, "feed", n), n
		}
		_ = feeding.Set(done)
	}, func(done int) {
		if reading == nil {
			reading = newProgressBar(p.stderr, "reanalyse", total)
		}
		read = done
		_ = reading.Set(min(done, total))
	})
	if errors.Is(err, search.ErrSyncBusy) {
		return errors.New("a server is running on this database: its reanalyse job feeds and reads insights within a minute of any change; stop it to run this by hand")
	}
	if err != nil {
		return err
	}
	for _, b := range []*progressbar.ProgressBar{feeding, reading} {
		if b != nil {
			_ = b.Finish()
		}
	}
	fmt.Fprintf(p.stdout, "%d pieces of feedback analysed in %s\n", read, time.Since(started).Round(time.Millisecond))
	return nil
}
