// Package exports gives a member everything the portal holds about them, as one JSON
// archive: small data is written at once, in the request; larger data is prepared in the
// background, a batch at a time, kept in the database in chunks read by _id, told to the
// member when ready, and removed after a week. It owns the exports and export_chunks
// collections; the documents themselves come from every package's declaration of where it
// keeps a member's data (store.MemberData).
package exports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// DefaultDirectLimit is how many documents a member may have for their archive to be written
// in the request, as it always was: held in memory while it is sent, it stays the size of a
// page's work (2,000 documents of 1 kB are a 2.3 MB file, counted in 20 ms and written in
// 0.2 s on the embedded database). A member with years of posts has tens of thousands: their
// archive is prepared in the background, where its size and time cost no request.
const DefaultDirectLimit = 2000

// Kept is how long a prepared archive can be downloaded; then the purge removes it.
const Kept = 7 * 24 * time.Hour

// chunkBytes is how much of an archive one chunk document holds: with its _id and member,
// the document stays under 1 MiB, read and written whole by _id on the embedded database.
const chunkBytes = 1<<20 - 4<<10

// Page is where a member sees their download: the notification and the email lead there.
const Page = "/profile#your-data"

// Collections this package owns.
const (
	requestsCollection = "exports"       // a member's request and where its archive stands, _id the member's
	chunksCollection   = "export_chunks" // the archive, _id "{member}/{attempt}/{n}"
)

// Status of a request.
type Status string

const (
	StatusPending Status = "pending" // to build (again, if a build was interrupted)
	StatusBuilt   Status = "built"   // stored; the member is still to be told
	StatusReady   Status = "ready"   // stored and told
)

// Export is a member's request for their archive: one per member at a time (its _id is the
// member's ID).
type Export struct {
	Member bson.ObjectID `bson:"_id"`
	Status Status        `bson:"status"`
	// Attempt numbers the builds of the request: each writes its own chunks, so a build
	// left behind by a crash or a lost lease never mixes with the next, which deletes them.
	Attempt int `bson:"attempt"`
	// Chunks the attempt wrote: recorded before each is written, so none is ever unknown.
	Chunks      int       `bson:"chunks"`
	Size        int64     `bson:"size"`
	RequestedAt time.Time `bson:"requested_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
	ExpiresAt   time.Time `bson:"expires_at,omitempty"` // built: when the purge removes it
}

// Ready reports whether the archive can be downloaded at now.
func (e *Export) Ready(now time.Time) bool {
	return (e.Status == StatusBuilt || e.Status == StatusReady) && now.Before(e.ExpiresAt)
}

// chunk is one piece of an archive, in order by N.
type chunk struct {
	ID     string        `bson:"_id"`
	Member bson.ObjectID `bson:"member"`
	Data   []byte        `bson:"data"`
}

func chunkID(member bson.ObjectID, attempt, n int) string {
	return fmt.Sprintf("%s/%d/%d", member.Hex(), attempt, n)
}

// Indexes of the collections: the job's queue (oldest touched first) and the purge's
// expired archives; a member's chunks, for their account's erasure.
var Indexes = []store.Indexes{
	{Collection: requestsCollection, Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "updated_at", Value: 1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "expires_at", Value: 1}}},
	}},
	{Collection: chunksCollection, Models: []mongo.IndexModel{{Keys: bson.D{{Key: "member", Value: 1}}}}},
}

// MemberData is where this package keeps a member's data: erasing their account deletes
// their request and any archive. The archive itself holds neither (it would be a copy of
// itself).
var MemberData = []store.MemberData{
	{Collection: requestsCollection, Field: "_id"},
	{Collection: chunksCollection, Field: "member"},
}

// ErrNotFound: no archive of that member's to download (never asked, expired, replaced, or
// asked for by someone else).
var ErrNotFound = errs.New(errs.ErrNotFound, "export.not_found")

// Notifier tells a member in the portal that their archive is ready (community implements
// it); key names the event, told once.
type Notifier interface {
	ExportReady(ctx context.Context, member bson.ObjectID, page, key string) error
}

// Mailer queues an email (mail.Outbox implements it).
type Mailer interface {
	Letter(ctx context.Context, to, lang, kind, key, path string, args ...any) error
}

// Members finds the member to email.
type Members interface {
	Get(ctx context.Context, id bson.ObjectID) (*customers.Customer, error)
}

// Config is how a Service works; the zero value but Owner is the production one.
type Config struct {
	// DirectLimit: a member with at most this many documents gets the archive in the
	// request (0: DefaultDirectLimit).
	DirectLimit int
	// Owner names this process for the build's lease (store.NewOwner).
	Owner string
	// Now is the clock (nil: the system's, in UTC).
	Now func() time.Time
}

// Service answers members' requests for their data and prepares the large ones.
type Service struct {
	requests *mongo.Collection
	chunks   *mongo.Collection
	db       *mongo.Database
	places   []store.MemberData
	leases   *store.Leases
	owner    string
	direct   int
	now      func() time.Time
	members  Members
	notifier Notifier
	mailer   Mailer
}

// New returns the service over places, every package's declarations (those of this
// package are left out of the archive).
func New(db *mongo.Database, places []store.MemberData, cfg Config) *Service {
	s := &Service{requests: db.Collection(requestsCollection), chunks: db.Collection(chunksCollection), db: db,
		places: archived(places), leases: store.NewLeases(db), owner: cfg.Owner, direct: cfg.DirectLimit, now: cfg.Now}
	if s.direct <= 0 {
		s.direct = DefaultDirectLimit
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	return s
}

// SetTeller lets the service tell members their archive is ready: in the portal, and by
// email to a confirmed address. Without it, members find it on their profile.
func (s *Service) SetTeller(members Members, n Notifier, m Mailer) {
	s.members, s.notifier, s.mailer = members, n, m
}

// archived are the places an archive is read from: this package's own left out, and the
// places of one collection brought together (in the order each collection first comes), so
// that the archive writes each collection's section in one go.
func archived(places []store.MemberData) []store.MemberData {
	var order []string
	by := map[string][]store.MemberData{}
	for _, p := range places {
		if p.Collection == requestsCollection || p.Collection == chunksCollection {
			continue
		}
		if _, seen := by[p.Collection]; !seen {
			order = append(order, p.Collection)
		}
		by[p.Collection] = append(by[p.Collection], p)
	}
	var out []store.MemberData
	for _, c := range order {
		out = append(out, by[c]...)
	}
	return out
}

// source hands fn the member's documents, collection by collection.
func (s *Service) source(ctx context.Context, member bson.ObjectID, fn func(string, []bson.M) error) error {
	return store.ExportMember(ctx, s.db, member, s.places, fn)
}

// Small reports whether member has at most the direct limit of documents, counting no
// further than the limit.
func (s *Service) Small(ctx context.Context, member bson.ObjectID) (bool, error) {
	left := int64(s.direct)
	for _, p := range s.places {
		n, err := s.db.Collection(p.Collection).CountDocuments(ctx, bson.M{p.Field: member}, options.Count().SetLimit(left+1))
		if err != nil {
			return false, fmt.Errorf("count %s: %w", p.Collection, err)
		}
		if left -= n; left < 0 {
			return false, nil
		}
	}
	return true, nil
}

// Write writes member's archive to w from what is stored now.
func (s *Service) Write(ctx context.Context, w io.Writer, member bson.ObjectID) error {
	return WriteArchive(ctx, w, member, s.now(), s.source)
}

// Request answers a member asking for their data: direct when it is small enough to be
// written at once (Write), and nothing is recorded; otherwise the request is recorded for the
// background build, once: asking again while it is prepared changes nothing, and asking
// while an archive is ready prepares a new one in its place.
func (s *Service) Request(ctx context.Context, member bson.ObjectID) (direct bool, err error) {
	if small, err := s.Small(ctx, member); err != nil || small {
		return small, err
	}
	now := s.now()
	_, err = s.requests.InsertOne(ctx, Export{Member: member, Status: StatusPending, RequestedAt: now, UpdatedAt: now})
	if !mongo.IsDuplicateKeyError(err) {
		if err != nil {
			return false, fmt.Errorf("request export: %w", err)
		}
		return false, nil
	}
	// One is there already. Only a ready one (expired or not) is replaced: the build deletes
	// its chunks, named by the attempt and count kept here. One being prepared stays as it is.
	_, err = s.requests.UpdateOne(ctx, bson.M{"_id": member, "status": StatusReady},
		bson.M{"$set": bson.M{"status": StatusPending, "requested_at": now, "updated_at": now}, "$unset": bson.M{"expires_at": ""}})
	if err != nil {
		return false, fmt.Errorf("request export: %w", err)
	}
	return false, nil
}

// Status is member's request, or nil when there is none (or only an expired archive).
func (s *Service) Status(ctx context.Context, member bson.ObjectID) (*Export, error) {
	e, err := store.FindOne[Export](ctx, s.requests, bson.M{"_id": member}, nil)
	if err != nil || e == nil {
		return nil, err
	}
	if e.Status != StatusPending && !e.Ready(s.now()) {
		return nil, nil // expired: the purge has yet to come
	}
	return e, nil
}

// Archive is a prepared archive being read, a chunk at a time.
type Archive struct {
	Size int64
	ctx  context.Context
	s    *Service
	e    *Export
	n    int    // the next chunk to read
	cur  []byte // what is left of the chunk read last
}

// Open opens member's prepared archive of attempt, while it can be downloaded. Reading it
// reads one chunk at a time, with ctx.
func (s *Service) Open(ctx context.Context, member bson.ObjectID, attempt int) (*Archive, error) {
	e, err := store.FindOne[Export](ctx, s.requests, bson.M{"_id": member}, ErrNotFound)
	if err != nil {
		return nil, err
	}
	if e.Attempt != attempt || !e.Ready(s.now()) {
		return nil, ErrNotFound
	}
	return &Archive{Size: e.Size, ctx: ctx, s: s, e: e}, nil
}

func (a *Archive) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.n == a.e.Chunks {
			return 0, io.EOF
		}
		c, err := store.FindOne[chunk](a.ctx, a.s.chunks, bson.M{"_id": chunkID(a.e.Member, a.e.Attempt, a.n)}, ErrNotFound)
		if err != nil {
			return 0, fmt.Errorf("read export chunk %d: %w", a.n, err) // replaced or erased meanwhile
		}
		a.cur, a.n = c.Data, a.n+1
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// deleteChunks deletes the first n chunks of member's attempt, by _id.
func (s *Service) deleteChunks(ctx context.Context, member bson.ObjectID, attempt, n int) error {
	for i := range n {
		if _, err := s.chunks.DeleteOne(ctx, bson.M{"_id": chunkID(member, attempt, i)}); err != nil {
			return fmt.Errorf("delete export chunk: %w", err)
		}
	}
	return nil
}

// errStale: the request changed under a build (the account was erased, or another
// instance took the build over): the build stops and takes its chunks away.
var errStale = errors.New("export request changed during its build")
