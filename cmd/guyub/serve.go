package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/store"
)

// shutdownGrace is how long in-flight requests get to finish after SIGINT/SIGTERM.
const shutdownGrace = 20 * time.Second

func (p program) serve(ctx context.Context, args []string) error {
	cfg, err := loadConfig("guyub serve", args, p.environ, p.stderr)
	if err != nil {
		return err
	}
	log := cfg.logger(p.stderr)

	// Listen before anything slow, so a port in use is reported at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("GUYUB_ADDR %s: %w", cfg.Addr, err)
	}
	defer ln.Close()

	started := time.Now()
	st, err := store.Open(ctx, store.Config{URI: cfg.MongoURI, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := st.Close(closeCtx); err != nil {
			log.Warn("close database", "err", err)
		}
	}()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("MONGODB_URI: cannot reach the database: %w", err)
	}
	if err := store.EnsureIndexes(ctx, st.DB, ratelimit.Indexes); err != nil {
		return err
	}

	limiter := ratelimit.New(st.DB)
	app, err := handlers.New(handlers.Config{
		SiteName:        cfg.SiteName,
		DefaultLanguage: cfg.DefaultLang,
		BodyLimit:       cfg.BodyLimitMB << 20,
		RateLimit:       cfg.RateLimit,
		TrustedProxies:  cfg.TrustedProxies,
		Logger:          log,
	}, handlers.Deps{
		Limiter:   limiter,
		Readiness: []handlers.ReadinessCheck{{Name: "mongodb", Critical: true, Check: st.Ping}},
		Metrics:   prometheus.NewRegistry(),
	})
	if err != nil {
		return err
	}

	workers, stopWorkers := context.WithCancel(context.Background())
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		limiter.PurgeEvery(workers, time.Minute, log)
	}()

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	database := "MongoDB"
	if st.Embedded {
		database = "embedded FerretDB in " + cfg.DataDir
	}
	log.Info("guyub is serving", "url", cfg.BaseURL, "addr", ln.Addr().String(), "database", database,
		"startup_ms", time.Since(started).Milliseconds())
	if p.listening != nil {
		p.listening(ln.Addr().String())
	}

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down: draining requests", "grace", shutdownGrace)
		err = app.ShutdownWithTimeout(shutdownGrace)
	}
	stopWorkers()
	<-purged
	return err
}
