package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/guyub/guyub/demo"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/jobs"
	"github.com/guyub/guyub/search"
)

// shutdownGrace is how long in-flight requests get to finish after SIGINT/SIGTERM.
const shutdownGrace = 20 * time.Second

func (p program) serve(ctx context.Context, args []string) error {
	var loadDemo bool
	cfg, err := loadConfig("guyub serve", args, p.environ, p.stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&loadDemo, "demo", false, "load the demo content (once; running again changes nothing)")
	})
	if err != nil {
		return err
	}
	log := cfg.logger(p.stderr)
	slog.SetDefault(log) // what the services log (store.FollowUp) goes where the server's log goes
	tunedGC := tuneGC(p.environ)

	// Listen before anything slow, so a port in use is reported at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("GUYUB_ADDR %s: %w", cfg.Addr, err)
	}
	defer ln.Close()

	started := time.Now()
	// Pages anonymous visitors see are kept until a write changes them. On MongoDB other
	// instances write too, unseen here, so entries live only a few seconds there.
	pageTTL := 5 * time.Minute
	if cfg.MongoURI != "" {
		pageTTL = 2 * time.Second
	}
	pages := handlers.NewPageCache(pageTTL, 64<<20)
	// The first start of the embedded default creates its database and index: say so, a
	// newcomer otherwise waits in silence.
	if cfg.MongoURI == "" {
		log.Info("opening the embedded database", "dir", cfg.DataDir)
	} else {
		log.Info("connecting to MongoDB")
	}
	svc, err := openServicesWatched(ctx, cfg, log, false, pages.Monitor())
	if err != nil {
		return err
	}
	defer func() {
		if err := svc.close(); err != nil {
			log.Warn("close database", "err", err)
		}
	}()
	if svc.store.Crashed {
		log.Warn("the last process on this data directory stopped without closing: recounting what its writes left in flight")
	}
	log.Info("opening the search index")
	index, syncer, err := svc.openSearch(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer index.Close()
	if b, ok := index.(*search.Bleve); ok && b.Created() {
		// New, or made anew for a new mapping: filled from the database before serving.
		log.Info("filling the search index from the database")
		started := time.Now()
		if err := syncer.Fill(ctx, func(int, int) {}); err != nil {
			return fmt.Errorf("fill the search index: %w", err)
		}
		log.Info("search index filled", "took", time.Since(started).Round(time.Millisecond))
	}
	var pageOut func() (int64, error)
	if b, ok := index.(*search.Bleve); ok {
		pageOut = b.PageOut
	}
	go releaseWhenIdle(ctx, log, tunedGC, pageOut)
	// Search results may trail the index by a few seconds, as the index trails the database.
	syncer.OnChange(func() { pages.ChangedWithin(handlers.SearchIndex, 10*time.Second) })
	providers, err := identity.ConfigureProviders(cfg.BaseURL, cfg.enabledProviders())
	if err != nil {
		return fmt.Errorf("GUYUB_OIDC_ISSUER: %w", err)
	}
	if loadDemo {
		if !svc.store.Embedded {
			log.Warn("loading demo content, with a demo admin whose password is public, into MONGODB_URI")
		}
		summary, err := demo.Load(ctx, svc.demoDeps())
		if err != nil {
			return fmt.Errorf("demo content: %w", err)
		}
		fmt.Fprintln(p.stdout, summary)
	}

	keys := idempotency.New(svc.store.DB)
	registry := prometheus.NewRegistry()
	supervisor := jobs.New(log)
	if err := supervisor.Register(registry); err != nil {
		return err
	}
	if err := svc.outbox.Register(registry); err != nil {
		return err
	}
	app, err := handlers.New(handlers.Config{
		SiteName:        cfg.SiteName,
		DefaultLanguage: cfg.DefaultLang,
		BodyLimit:       cfg.BodyLimitMB << 20,
		RateLimit:       cfg.RateLimit,
		TrustedProxies:  cfg.TrustedProxies,
		SecureCookies:   strings.HasPrefix(cfg.BaseURL, "https://"),
		BaseURL:         cfg.BaseURL,
		Logger:          log,
	}, handlers.Deps{
		Customers:  svc.customers,
		Identity:   svc.identity,
		Reviews:    svc.reviews,
		Community:  svc.community,
		Moderation: svc.moderation,
		Search:     index,
		Feedback:   svc.feedback,
		Insights:   svc.insights,
		Outbox:     svc.outbox,
		Media:      svc.media,
		Loyalty:    svc.loyalty,
		FollowUps:  svc.followups,
		Webhooks:   svc.webhooks,
		Erasure:    svc.erasure,
		Importer:   importer.New(svc.store.DB, svc.customers, svc.reviews, svc.community),
		Exports:    svc.exports,
		Providers:  providers,
		Limiter:    svc.limiter,
		Readiness: []handlers.ReadinessCheck{
			{Name: "mongodb", Critical: true, Check: svc.store.Ping},
			{Name: "search", Check: syncer.Check}, // down: degraded; writes go on and the sync catches up
			// Writes refused (a full disk): degraded, not unavailable, so reads go on being served.
			{Name: "writes", Check: svc.store.CheckWrites,
				Advice: "The database refuses writes: make room on its disk (or lift its quota); everything catches up by itself."},
			{Name: "jobs", Check: supervisor.Check},
			{Name: "embedded_size", Check: svc.store.CheckSize,
				Advice: "The embedded database has outgrown the size it is measured for: move to MongoDB with guyub migrate."},
		},
		Metrics:     registry,
		Catalog:     svc.catalog,
		Pages:       pages,
		Idempotency: keys,
	})
	if err != nil {
		return err
	}

	workers, stopWorkers := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for _, job := range []jobs.Job{
		{Name: "search sync", Every: 2 * time.Second, Run: syncer.Pass, MaxBackoff: 10 * time.Second},
		{Name: "purge rate limits", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := svc.limiter.Purge(ctx)
			return err
		}},
		{Name: "purge sessions", Every: 10 * time.Minute, Run: svc.identity.Purge},
		{Name: "purge idempotency keys", Every: 10 * time.Minute, Run: keys.Purge},
		{Name: "purge survey links", Every: time.Hour, Run: svc.feedback.Purge},
		{Name: "daily stage review", Every: time.Hour, Run: svc.dailyStages(log)},
		{Name: "score recompute", Every: 2 * time.Second, Run: svc.recomputeScores(log)},
		{Name: "webhooks", Every: 2 * time.Second, Run: svc.webhooks.Pass, MaxBackoff: time.Minute},
		{Name: "outbox", Every: 2 * time.Second, Run: svc.outbox.Pass, MaxBackoff: time.Minute},
		{Name: "notification emails", Every: time.Minute, Run: svc.community.EmailNotifications},
		{Name: "digests", First: time.Minute, Every: time.Hour, Run: svc.digests(log)},
		{Name: "review requests", First: time.Minute, Every: time.Hour, Run: svc.reviews.SendReviewRequests},
		{Name: "survey invitations", Every: time.Minute, Run: svc.feedback.SendInvitations},
		{Name: "reanalyse", First: 10 * time.Second, Every: time.Minute, Run: svc.reanalyse(syncer, log)},
		{Name: "repair in flight", Every: time.Minute, Run: svc.repairInFlight(log)},
		{Name: "repair", First: repairDelay(svc.store), Every: time.Hour, Run: svc.repairJob(log)},
		{Name: "idea voters", First: time.Minute, Every: time.Hour, Run: svc.community.RefreshVoterValues},
		{Name: "member exports", Every: 5 * time.Second, Run: svc.exports.Build, MaxBackoff: time.Minute},
		{Name: "purge member exports", Every: time.Hour, Run: svc.exports.Purge},
	} {
		supervisor.Go(workers, &running, job)
	}

	serving := make(chan error, 1)
	go func() { serving <- app.Listener(ln) }()
	database := "MongoDB"
	if svc.store.Embedded {
		database = "embedded FerretDB in " + cfg.DataDir
	}
	served := servedURL(ln.Addr().String())
	log.Info("guyub is serving", "url", served, "base_url", cfg.BaseURL, "database", database,
		"social_logins", len(providers), "startup_ms", time.Since(started).Milliseconds())
	if mismatch(cfg.BaseURL, served) {
		log.Warn("GUYUB_BASE_URL does not match the address served: links in emails and social sign-in go to GUYUB_BASE_URL; set it to the URL people use",
			"base_url", cfg.BaseURL, "served", served)
	}
	if err := svc.store.CheckSize(ctx); err != nil {
		log.Warn("move to MongoDB: run guyub migrate --to mongodb://… (see README, Performance)", "err", err)
	}
	if p.listening != nil {
		p.listening(ln.Addr().String())
	}

	select {
	case err = <-serving:
	case <-ctx.Done():
		log.Info("shutting down: draining requests", "grace", shutdownGrace)
		err = app.ShutdownWithTimeout(shutdownGrace)
	}
	stopWorkers()
	running.Wait()
	svc.identity.Drain() // account emails still being queued
	release, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = syncer.Release(release) // another instance takes the sync over at once
	return err
}

// GC targets: under load the heap may grow to four times what is live before a collection
// (gcPercentBusy), which costs little memory at the server's live heap of tens of MB and gave
// 6 % more reads and 13 % more writes (guyub bench, medium); idle, twice (Go's default), so
// the memory a burst took goes back to the system and stays back. (One and a half times was
// tried: 88 and 97 MB of the server's own memory after a burst, against 97 MB at twice, too
// close to tell apart from one run to the next.)
const (
	gcPercentBusy = 300
	gcPercentIdle = 100
)

// tuneGC trades memory for CPU while the server works, unless the operator set GOGC or
// GOMEMLIMIT, and says whether the collection target is the server's to change (GOGC unset).
// A soft limit of 512 MiB brings collection forward before memory runs away.
func tuneGC(environ []string) (tuned bool) {
	set := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	if !set["GOGC"] {
		debug.SetGCPercent(gcPercentBusy)
	}
	if !set["GOMEMLIMIT"] {
		debug.SetMemoryLimit(512 << 20)
	}
	return !set["GOGC"]
}

// releaseWhenIdle hands memory back to the system once the server has been quiet for a
// minute, and, when tuned, collects at the idle target until work comes back: the runtime
// would otherwise keep the heap a burst grew to, and let idle work grow it back to four times
// what is live. Work is noticed within a look (ten seconds), so a burst runs at the busy
// target for all but its first seconds. pageOut (nil: none) gives back the pages of the
// search index's files, which a burst of searches leaves resident.
func releaseWhenIdle(ctx context.Context, log *slog.Logger, tuned bool, pageOut func() (int64, error)) {
	const look = 10 * time.Second
	t := time.NewTicker(look)
	defer t.Stop()
	idle := idleWatch{quiet: time.Minute}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch idle.look(busyCPU(), look) {
		case wentIdle:
			if tuned {
				debug.SetGCPercent(gcPercentIdle)
			}
			debug.FreeOSMemory()
			if pageOut != nil {
				if _, err := pageOut(); err != nil {
					log.Debug("page out the search index", "err", err)
				}
			}
			idle.skip(busyCPU()) // the collection it just ran is not work coming back
		case wentBusy:
			if tuned {
				debug.SetGCPercent(gcPercentBusy)
			}
		}
	}
}

// idleWatch tells, from the CPU time used so far, when a spell of work or of quiet begins.
type idleWatch struct {
	quiet time.Duration // how long under 2 % of a core counts as idle

	used     time.Duration // CPU time at the last look
	quietFor time.Duration // since the last busy look
	idle     bool
}

type idleChange int

const (
	noChange idleChange = iota
	wentIdle            // quiet for the whole of idleWatch.quiet, after work
	wentBusy            // a look found work after an idle spell
)

// skip leaves the CPU time used since the last look out of the next one.
func (w *idleWatch) skip(used time.Duration) { w.used = used }

// look takes the CPU time used so far, every interval, and says what changed: a look that
// used 2 % of a core or more is work.
func (w *idleWatch) look(used, interval time.Duration) idleChange {
	busy := used-w.used >= interval/50
	w.used = used
	if busy {
		w.quietFor = 0
		if w.idle {
			w.idle = false
			return wentBusy
		}
		return noChange
	}
	w.quietFor += interval
	if !w.idle && w.quietFor >= w.quiet {
		w.idle = true
		return wentIdle
	}
	return noChange
}

// busyCPU is the CPU time the process has used, as the runtime counts it.
func busyCPU() time.Duration {
	samples := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindFloat64 || samples[1].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return time.Duration((samples[0].Value.Float64() - samples[1].Value.Float64()) * float64(time.Second))
}

// servedURL is the address a browser on this machine opens: a listener on every interface
// is reached as localhost.
func servedURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// mismatch says whether the base URL points at this machine on another port than the one
// served: a development set-up whose links would lead nowhere. A public base URL (behind a
// proxy) is not compared.
func mismatch(base, served string) bool {
	b, err1 := url.Parse(base)
	s, err2 := url.Parse(served)
	if err1 != nil || err2 != nil {
		return false
	}
	local := func(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return local(b.Hostname()) && local(s.Hostname()) && port(b) != port(s)
}
