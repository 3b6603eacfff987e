package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/guyub/guyub/seed"
	"github.com/guyub/guyub/store"
)

// seed generates a community of a named size through the services' own write paths, for
// measuring the portal (guyub bench). A run that stops is resumed by running it again.
// Beside a running server on the same data it joins that server, whose search worker then
// indexes the new content; on its own it indexes the content itself before it ends.
func (p program) seed(ctx context.Context, args []string) error {
	var scaleName string
	var workers int
	cfg, err := loadConfig("guyub seed", args, p.environ, p.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&scaleName, "scale", "small", "how much to generate: "+strings.Join(scaleNames(), ", "))
		fs.IntVar(&workers, "workers", 4, "items written at once")
	})
	if err != nil {
		return err
	}
	scale, ok := seed.Scales[scaleName]
	if !ok {
		return fmt.Errorf("--scale: unknown scale %q; scales: %s", scaleName, strings.Join(scaleNames(), ", "))
	}
	log := cfg.logger(p.stderr)
	_, serverRunning := store.EmbeddedURI(cfg.DataDir)
	svc, err := openServices(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()

	started := time.Now()
	bars := map[string]*progressbar.ProgressBar{}
	progress := func(phase string, done, total int) {
		bar := bars[phase]
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.stderr), progressbar.OptionSetDescription(phase),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
			bars[phase] = bar
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
			fmt.Fprintf(p.stderr, "%s: %d\n", phase, total)
		}
	}
	if err := seed.New(svc.store.DB, svc.demoDeps(), workers, progress).Run(ctx, scale); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "seeded %s in %s\n", scale.Name, time.Since(started).Round(time.Second))

	return p.indexWritten(ctx, cfg, svc, serverRunning)
}

// indexWritten indexes what a command wrote, unless Meilisearch or a running server's search
// worker catches up by itself.
func (p program) indexWritten(ctx context.Context, cfg config, svc *services, serverRunning bool) error {
	if cfg.MeiliURL != "" || (serverRunning && cfg.MongoURI == "") {
		return nil
	}
	index, syncer, err := svc.openSearch(ctx, cfg, cfg.logger(p.stderr))
	if err != nil {
		return err
	}
	defer index.Close()
	indexed, began := 0, time.Now()
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(p.stderr), progressbar.OptionSetDescription("search index"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
	for {
		n, err := syncer.SyncOnce(ctx)
		if err != nil {
			return err
		}
		if indexed += n; n == 0 {
			break
		}
		_ = bar.Add(n)
	}
	_ = bar.Finish()
	fmt.Fprintf(p.stdout, "indexed %d documents in %s\n", indexed, time.Since(began).Round(time.Millisecond))
	return nil
}

func scaleNames() []string {
	var names []string
	for name := range seed.Scales {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return seed.Scales[a].Posts - seed.Scales[b].Posts })
	return names
}
