// Package seed generates a community of a named size, in English and Bahasa Indonesia, for
// measuring the portal: members with purchases and survey answers, products and their reviews
// and helpful votes, forum threads with replies and likes, ideas with votes.
//
// Everything is written through the services' own write paths, so every counter, score,
// stage, notification and search flag is what real use would leave. The content is generated
// from a fixed random seed, and every item is looked up by its natural key before it is
// written (an email, a title by its author, a review per product and author, an order ID, an
// answer's key), so a run that stops part-way is finished by the next and a second run adds
// nothing. A checkpoint per phase lets a resumed run skip what is known to be done.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/demo"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/reviews"
)

// Scale is how much a run generates.
type Scale struct {
	Name      string
	Customers int
	Products  int
	Threads   int
	Posts     int // replies, across all threads
	Reviews   int
	Ideas     int
}

// Scales are the named sizes: small is a young community, medium a thriving one, large a
// big brand's.
var Scales = map[string]Scale{
	"tiny":   {Name: "tiny", Customers: 40, Products: 8, Threads: 20, Posts: 120, Reviews: 40, Ideas: 10},
	"small":  {Name: "small", Customers: 2_000, Products: 60, Threads: 1_000, Posts: 10_000, Reviews: 2_000, Ideas: 500},
	"medium": {Name: "medium", Customers: 20_000, Products: 200, Threads: 10_000, Posts: 100_000, Reviews: 20_000, Ideas: 5_000},
	"large":  {Name: "large", Customers: 200_000, Products: 1_000, Threads: 100_000, Posts: 1_000_000, Reviews: 200_000, Ideas: 50_000},
}

// Progress is told how far a phase has got.
type Progress func(phase string, done, total int)

// Seeder writes a generated community through the services.
type Seeder struct {
	deps     demo.Deps
	runs     *mongo.Collection
	workers  int
	progress Progress

	// what earlier phases made, by index
	members  []*customers.Customer
	products []*reviews.Product
	surveys  []*feedback.Survey
	cats     []string
}

// New returns a Seeder writing through deps; workers is how many items are written at once.
func New(db *mongo.Database, deps demo.Deps, workers int, progress Progress) *Seeder {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	return &Seeder{deps: deps, runs: db.Collection("seed_runs"), workers: max(workers, 1), progress: progress}
}

// Run generates scale, resuming where an earlier run of the same scale stopped.
func (s *Seeder) Run(ctx context.Context, scale Scale) error {
	if _, err := demo.Load(ctx, s.deps); err != nil {
		return fmt.Errorf("seed: demo content first: %w", err)
	}
	cats, err := s.deps.Community.Categories(ctx)
	if err != nil {
		return err
	}
	for _, c := range cats {
		if !c.StaffOnly {
			s.cats = append(s.cats, c.Slug)
		}
	}
	if s.surveys, err = s.deps.Feedback.Surveys(ctx); err != nil {
		return err
	}
	s.members = make([]*customers.Customer, scale.Customers)
	s.products = make([]*reviews.Product, scale.Products)
	phases := []struct {
		name  string
		total int
		item  func(ctx context.Context, i int) error
	}{
		// members and products are always walked: later phases need them in memory
		{"members", scale.Customers, s.member},
		{"products", scale.Products, s.product},
		{"purchases and answers", scale.Customers, s.purchasesAndAnswers},
		{"threads and replies", scale.Threads, func(ctx context.Context, i int) error { return s.thread(ctx, scale, i) }},
		{"reviews", scale.Reviews, func(ctx context.Context, i int) error { return s.review(ctx, scale, i) }},
		{"ideas and votes", scale.Ideas, s.idea},
	}
	for _, ph := range phases {
		from := 0
		if ph.name != "members" && ph.name != "products" {
			if from, err = s.checkpoint(ctx, scale.Name, ph.name); err != nil {
				return err
			}
		}
		if err := s.each(ctx, scale.Name, ph.name, from, ph.total, ph.item); err != nil {
			return fmt.Errorf("seed %s: %w", ph.name, err)
		}
	}
	return nil
}

// each runs item for every index from..total-1 on s.workers goroutines, a chunk at a time,
// and records a checkpoint after each chunk.
func (s *Seeder) each(ctx context.Context, scaleName, phase string, from, total int, item func(context.Context, int) error) error {
	const chunk = 200
	s.progress(phase, from, total)
	for start := from; start < total; start += chunk {
		end := min(start+chunk, total)
		var next atomic.Int64
		next.Store(int64(start))
		var wg sync.WaitGroup
		var once sync.Once
		var firstErr error
		for range s.workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= end || ctx.Err() != nil {
						return
					}
					if err := item(ctx, i); err != nil {
						once.Do(func() { firstErr = fmt.Errorf("item %d: %w", i, err) })
						return
					}
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.saveCheckpoint(ctx, scaleName, phase, end); err != nil {
			return err
		}
		s.progress(phase, end, total)
	}
	return nil
}

type runDoc struct {
	ID     string         `bson:"_id"`
	Phases map[string]int `bson:"phases"`
}

func (s *Seeder) checkpoint(ctx context.Context, scaleName, phase string) (int, error) {
	var run runDoc
	err := s.runs.FindOne(ctx, bson.M{"_id": scaleName}).Decode(&run)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("seed checkpoint: %w", err)
	}
	return run.Phases[phase], nil
}

func (s *Seeder) saveCheckpoint(ctx context.Context, scaleName, phase string, done int) error {
	_, err := s.runs.UpdateOne(ctx, bson.M{"_id": scaleName}, bson.M{"$max": bson.M{"phases." + phase: done}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("seed checkpoint: %w", err)
	}
	return nil
}

// rnd is the random source for item i of a phase: the same every run.
func rnd(phase string, i int) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(phase) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, uint64(i)))
}
