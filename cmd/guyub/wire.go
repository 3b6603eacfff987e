package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/demo"
	"github.com/guyub/guyub/erasure"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/webhooks"
)

// services are the domain services, built once from their dependencies.
type services struct {
	store      *store.Store
	catalog    *frontend.Catalog
	limiter    *ratelimit.Limiter
	customers  *customers.Service
	identity   *identity.Service
	reviews    *reviews.Service
	community  *community.Service
	moderation *moderation.Service
	feedback   *feedback.Service
	insights   *insights.Service
	outbox     *mail.Outbox
	media      *media.Service
	loyalty    *loyalty.Service
	followups  *followups.Service
	webhooks   *webhooks.Service
	erasure    *erasure.Service
	exports    *exports.Service
	owner      string // this process, for leases (store.NewOwner)
}

// indexes lists every package's index declarations, applied at start.
func indexes() []store.Indexes {
	var all []store.Indexes
	all = append(all, ratelimit.Indexes, idempotency.Indexes, store.InFlightIndexes, mail.Indexes)
	all = append(all, customers.Indexes...)
	all = append(all, identity.Indexes...)
	all = append(all, reviews.Indexes...)
	all = append(all, community.Indexes...)
	all = append(all, moderation.Indexes...)
	all = append(all, feedback.Indexes...)
	all = append(all, insights.Indexes...)
	all = append(all, loyalty.Indexes...)
	all = append(all, followups.Indexes...)
	all = append(all, webhooks.Indexes...)
	all = append(all, importer.Indexes...)
	all = append(all, media.Indexes...)
	all = append(all, exports.Indexes...)
	return all
}

// openServices connects to the database and builds the services. A command run beside a
// server on the embedded default (admin) joins that server's database through the address
// it recorded, rather than opening the same SQLite files from a second process.
func openServices(ctx context.Context, cfg config, log *slog.Logger, joinRunning bool) (*services, error) {
	return openServicesWatched(ctx, cfg, log, joinRunning, nil)
}

// openServicesWatched is openServices with a command monitor on the database client: the
// page cache's, for the server.
func openServicesWatched(ctx context.Context, cfg config, log *slog.Logger, joinRunning bool, monitor *event.CommandMonitor) (*services, error) {
	storeCfg := store.Config{URI: cfg.MongoURI, DataDir: cfg.DataDir, Logger: log, Monitor: monitor}
	if joinRunning && cfg.MongoURI == "" {
		if uri, ok := store.EmbeddedURI(cfg.DataDir); ok {
			if running, err := store.Open(ctx, store.Config{URI: uri, Logger: log}); err == nil {
				pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err = running.Ping(pingCtx)
				cancel()
				if err == nil {
					return buildServices(ctx, running, cfg)
				}
				_ = running.Close(ctx)
			}
		}
	}
	st, err := store.Open(ctx, storeCfg)
	if err != nil {
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		_ = st.Close(ctx)
		return nil, fmt.Errorf("MONGODB_URI: cannot reach the database: %w", err)
	}
	return buildServices(ctx, st, cfg)
}

func buildServices(ctx context.Context, st *store.Store, cfg config) (*services, error) {
	fail := func(err error) (*services, error) {
		_ = st.Close(context.Background())
		return nil, err
	}
	if err := store.EnsureIndexes(ctx, st.DB, indexes()...); err != nil {
		return fail(err)
	}
	catalog, err := frontend.LoadCatalog()
	if err != nil {
		return fail(err)
	}
	s := &services{store: st, catalog: catalog, limiter: ratelimit.New(st.DB), owner: store.NewOwner()}
	s.customers = customers.NewService(st.DB, catalog.Languages())
	if cfg.Currency != "" {
		if err := s.customers.SetCurrency(cfg.Currency); err != nil {
			return fail(err)
		}
	}
	s.identity, err = identity.New(ctx, st.DB, s.customers, s.limiter, identity.Config{Secret: []byte(cfg.SessionSecret)})
	if err != nil {
		return fail(err)
	}
	var sender mail.Sender
	if cfg.SMTP != nil {
		sender = mail.NewSMTP(*cfg.SMTP, cfg.MailFrom)
	}
	s.outbox = mail.NewOutbox(st.DB, sender, mail.Writer{T: catalog.T, BaseURL: cfg.BaseURL, Site: cfg.SiteName}, slog.Default())
	s.identity.SetMailer(s.outbox)
	md := markdown.New()
	s.reviews = reviews.NewService(st.DB, s.customers, s.customers, md)
	s.community = community.New(st.DB, s.customers, s.customers, s.reviews, md)
	s.moderation = moderation.New(st.DB, s.customers, map[content.Kind]moderation.Publisher{
		content.KindReview: s.reviews,
		content.KindThread: s.community.ThreadPublisher(),
		content.KindPost:   s.community.PostPublisher(),
		content.KindIdea:   s.community.IdeaPublisher(),
	})
	s.moderation.SetAuthorNotices(s.community)
	s.community.SetMailer(s.outbox, s.identity.UnsubscribeLink)
	s.reviews.SetMailer(s.outbox, time.Duration(cfg.ReviewRequestDays)*24*time.Hour, s.identity.UnsubscribeLink)
	s.reviews.SetScreener(s.moderation)
	s.community.SetScreener(s.moderation)
	s.feedback = feedback.New(st.DB, s.customers, s.customers)
	s.feedback.SetMailer(s.outbox, s.identity.UnsubscribeLink)
	if s.insights, err = insights.NewService(st.DB, s.customers, s.customers); err != nil {
		return fail(err)
	}
	files, err := openUploads(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	s.media = media.NewService(st.DB, files)
	s.loyalty = loyalty.New(st.DB, s.customers, slog.Default())
	s.loyalty.SetNotifier(s.community)
	s.reviews.SetRewarder(s.loyalty)
	s.community.SetRewarder(s.loyalty)
	s.feedback.SetRewarder(s.loyalty)
	s.moderation.SetStanding(s.loyalty)
	s.followups = followups.New(st.DB, s.customers, s.community.Heard)
	s.customers.Watch(s.followups.Watch)
	s.webhooks = webhooks.New(st.DB, webhooks.Config{AllowPrivate: cfg.WebhooksAllowPrivate, BaseURL: cfg.BaseURL}, s.webhookOff)
	s.customers.Watch(s.webhooks.Watch)
	s.moderation.SetFlagListener(s.webhooks.FlagRaised)
	s.erasure = erasure.New(st.DB, s.customers, s.moderation, erasure.Places(), erasure.Refs(),
		[]erasure.Remover{s.reviews, s.community}, erasure.Forget(s.outbox, s.limiter, idempotency.New(st.DB), s.webhooks, s.loyalty, s.feedback))
	s.exports = exports.New(st.DB, erasure.Places(), exports.Config{Owner: s.owner})
	s.exports.SetTeller(s.customers, s.community, s.outbox)
	return s, nil
}

// webhookOff tells every admin, in the portal, that an endpoint was turned off.
func (s *services) webhookOff(ctx context.Context, e *webhooks.Endpoint) error {
	admins, err := s.customers.Search(ctx, customers.Query{Role: customers.RoleAdmin, Limit: 100})
	if err != nil {
		return err
	}
	key := fmt.Sprintf("webhook_off:%s:%d", e.ID.Hex(), e.UpdatedAt.Unix())
	for _, a := range admins {
		if err := s.community.WebhookOff(ctx, a.ID, e.URL, "/admin/webhooks/"+e.ID.Hex(), key); err != nil {
			return err
		}
	}
	return nil
}

// openUploads is where uploaded pictures are kept: the S3 bucket when configured, else a
// directory beside the embedded database (one instance's disk: a portal on several
// instances needs the bucket).
func openUploads(ctx context.Context, cfg config) (media.Storage, error) {
	if cfg.S3.Endpoint != "" {
		s3, err := media.NewS3(ctx, cfg.S3)
		if err != nil {
			return nil, fmt.Errorf("GUYUB_S3_ENDPOINT: %w", err)
		}
		return s3, nil
	}
	dir, err := media.NewDir(filepath.Join(cfg.DataDir, "uploads"))
	if err != nil {
		return nil, fmt.Errorf("GUYUB_DATA: %w", err)
	}
	return dir, nil
}

// demoDeps are the services the demo and seed content is written through.
func (s *services) demoDeps() demo.Deps {
	return demo.Deps{Customers: s.customers, Identity: s.identity, Reviews: s.reviews, Community: s.community,
		Moderation: s.moderation, Feedback: s.feedback, Loyalty: s.loyalty}
}

func (s *services) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.store.Close(ctx)
}

// openSearch opens Meilisearch when configured, otherwise the embedded Bleve index, and the
// worker that keeps it in step with MongoDB.
func (s *services) openSearch(ctx context.Context, cfg config, log *slog.Logger) (search.Index, *search.Syncer, error) {
	var idx search.Index
	var err error
	if cfg.MeiliURL != "" {
		if idx, err = search.OpenMeili(ctx, cfg.MeiliURL, cfg.MeiliKey, cfg.SearchIndex); err != nil {
			return nil, nil, fmt.Errorf("MEILISEARCH_URL: %w", err)
		}
	} else if idx, err = search.OpenBleve(filepath.Join(cfg.DataDir, "search")); err != nil {
		return nil, nil, fmt.Errorf("GUYUB_DATA: %w", err)
	}
	return idx, s.syncer(idx, log), nil
}

// syncer is the worker that keeps the index (nil: none) and insights in step with the
// content of every source.
func (s *services) syncer(idx search.Index, log *slog.Logger) *search.Syncer {
	syncer := search.NewSyncer(idx, store.NewLeases(s.store.DB), s.owner, log,
		s.reviews.ProductSource(), s.reviews.ReviewSource(), s.reviews.TestimonialSource(),
		s.community.ThreadSource(), s.community.PostSource(), s.community.IdeaSource(), s.feedback.CommentSource())
	syncer.AlsoTo(s.insights)
	syncer.AlsoTo(s.webhooks.Sink())
	return syncer
}

// reanalyse keeps the analysis of feedback current: the first time, it gives insights the
// feedback written before it existed; then it reads again what the model or themes read
// otherwise (after an admin edits the themes). One instance at a time, resumable.
func (s *services) reanalyse(syncer *search.Syncer, log *slog.Logger) func(context.Context) error {
	leases := store.NewLeases(s.store.DB)
	return func(ctx context.Context) error {
		held, err := leases.Acquire(ctx, "reanalyse", s.owner, 10*time.Minute)
		if err != nil || !held {
			return err
		}
		defer func() { _ = leases.Release(context.WithoutCancel(ctx), "reanalyse", s.owner) }()
		err = s.analyseAll(ctx, syncer, log, nil, nil)
		if errors.Is(err, search.ErrSyncBusy) {
			return nil // another instance syncs: the feed waits for the next minute
		}
		return err
	}
}

// analyseAll feeds insights what it has not seen (once) and reads again what was read
// with another model or other themes, telling progress.
func (s *services) analyseAll(ctx context.Context, syncer *search.Syncer, log *slog.Logger, fed func(done, total int), read func(done int)) error {
	already, err := s.insights.Fed(ctx)
	if err != nil {
		return err
	}
	if fed != nil || !already {
		started := time.Now()
		if fed == nil {
			fed = func(int, int) {}
		}
		if err := syncer.Refeed(ctx, s.insights, fed); err != nil {
			return fmt.Errorf("feed insights: %w", err)
		}
		if err := s.insights.MarkFed(ctx); err != nil {
			return err
		}
		log.Info("insights fed with the existing feedback", "duration_ms", time.Since(started).Milliseconds())
	}
	return s.insights.Reanalyse(ctx, read)
}

// dailyStages re-evaluates every customer's lifecycle stage once a day: the first instance
// to take the day's lease does it (inactivity moves stages without any event).
func (s *services) dailyStages(log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		return s.onceToday(ctx, "stages", func() error {
			n, err := s.customers.EvaluateAllStages(ctx)
			log.Info("daily stage review", "customers", n, "err", err)
			return err
		})
	}
}

// recomputeScores applies saved score settings to every record, a batch at a time, under a
// lease so one instance does it; progress is saved per batch, so a restart resumes.
func (s *services) recomputeScores(log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		due, err := s.customers.RecomputeDue(ctx)
		if err != nil || !due {
			return err
		}
		leases := store.NewLeases(s.store.DB)
		held, err := leases.Acquire(ctx, "score recompute", s.owner, time.Minute)
		if err != nil || !held {
			return err
		}
		defer leases.Release(context.WithoutCancel(ctx), "score recompute", s.owner)
		started := time.Now()
		for more := true; more; {
			if more, err = s.customers.RecomputeStep(ctx); err != nil {
				return err
			}
			if held, err := leases.Acquire(ctx, "score recompute", s.owner, time.Minute); err != nil || !held {
				return err // another instance carries on from the saved progress
			}
		}
		p, _ := s.customers.Progress(ctx)
		log.Info("scores recomputed with new settings", "version", p.Version, "customers", p.Done, "ms", time.Since(started).Milliseconds())
		return nil
	}
}

// digests sends the daily digest once a day and the weekly one on Mondays (UTC).
func (s *services) digests(log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		now := time.Now().UTC()
		periods := []string{customers.EmailDaily}
		if now.Weekday() == time.Monday {
			periods = append(periods, customers.EmailWeekly)
		}
		for _, period := range periods {
			err := s.onceToday(ctx, "digest:"+period, func() error {
				err := s.community.SendDigests(ctx, period)
				log.Info("digests sent", "period", period, "err", err)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// onceToday runs work once a day across instances and restarts: under the day's lease,
// marked done when work succeeds; a failure gives the lease back for the next try.
func (s *services) onceToday(ctx context.Context, name string, work func() error) error {
	leases := store.NewLeases(s.store.DB)
	day := name + ":" + time.Now().UTC().Format(time.DateOnly)
	held, err := leases.Acquire(ctx, day, s.owner, 25*time.Hour)
	if err != nil || !held {
		return err
	}
	if err := work(); err != nil {
		_ = leases.Release(context.WithoutCancel(ctx), day, s.owner)
		return err
	}
	return leases.Done(ctx, day, s.owner)
}
