package handlers

import (
	"bytes"
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/store"
)

// PageCache keeps what anonymous visitors are shown — pages and API lists — so that a busy
// portal renders each once, not once per visitor.
//
// An entry is dropped by exactly the writes that change what it shows. The cache watches the
// database driver (Monitor): while it renders an entry it notes what the request read — the
// documents it got back, the ObjectIDs it looked up by (a thread's posts by the thread's ID)
// and, for reads that name no ObjectID (the latest threads, the top ideas), the whole
// collection. Each write then marks what it touched: an insert the ObjectIDs it holds (a
// reply names its thread, a like its post), an update or delete the ObjectIDs in its filter,
// and every write its collection. An entry is fresh while nothing it read has been marked
// since it was rendered.
//
// When an entry goes stale, one request renders it again while the others are still given
// the stale copy, so readers never queue behind a render. Entries also expire after ttl:
// with several instances on one MongoDB each sees only its own writes, so their ttl is short.
type PageCache struct {
	ttl      time.Duration
	maxBytes int
	// rerender bounds how often one page is rendered again: a visitor sees a change at most
	// this late (the member who made it sees it at once: signed-in pages are not cached).
	rerender time.Duration

	seq     atomic.Uint64          // counts writes; every mark is the write's number
	marks   [1 << 16]atomic.Uint64 // the last write to touch an ObjectID, by a hash of it
	colls   sync.Map               // collection name → *atomic.Uint64, the last write to it
	seed    maphash.Seed           // for the ObjectID hash
	pending sync.Map               // driver request ID → *pendingCommand
	mu      sync.Mutex             // guards pages, bytes, refreshing
	pages   map[string]*cachedPage // by language and URL
	bytes   int                    // size of the pages held
	busy    map[string]bool        // pages being rendered again
	soon    map[string]bool        // sources with a change still to tell (ChangedWithin)
	hits    [3]atomic.Uint64       // hit, stale, miss: for /metrics
}

// bookkeeping are fields that pages do not show: an update that only sets them (the search
// worker marking a document indexed, the hourly voters' figures of an idea) drops no page.
var bookkeeping = map[string]bool{"search_dirty": true, "voters": true} // voters: staff see them, never a cached page

// NewPageCache returns a cache whose entries live at most ttl and take at most maxBytes.
func NewPageCache(ttl time.Duration, maxBytes int) *PageCache {
	return &PageCache{ttl: ttl, maxBytes: maxBytes, rerender: time.Second, seed: maphash.MakeSeed(),
		pages: map[string]*cachedPage{}, busy: map[string]bool{}}
}

// SetRerenderInterval sets how often one page may be rendered again (a second by default).
func (pc *PageCache) SetRerenderInterval(d time.Duration) { pc.rerender = d }

// cachedPage is a rendered response, compressed once for each encoding browsers ask for.
type cachedPage struct {
	status      int
	contentType string
	headers     [][2]string
	plain       []byte
	mu          sync.Mutex // guards br and gz, made on demand
	gz, br      []byte
	reads       []read
	rendered    uint64    // the write count when the render began
	at          time.Time // when it was stored
}

// size is what a page takes: its body, a third more for the compressed copies made later,
// and its reads.
func (p *cachedPage) size() int { return len(p.plain)*4/3 + 16*len(p.reads) }

// read is something a render read: an ObjectID (by its hash) or a whole collection.
type read struct {
	slot uint32 // the ObjectID's hash; unused for a collection
	coll *atomic.Uint64
}

// readSet collects a render's reads; the driver monitor finds it in the request's context.
type readSet struct {
	pc    *PageCache
	mu    sync.Mutex
	reads []read
	seen  map[read]bool
}

// ReadCollection notes a read served without the driver (store.Cached).
func (rs *readSet) ReadCollection(name string) { rs.add(read{coll: rs.pc.collection(name)}) }

func (rs *readSet) add(r read) {
	rs.mu.Lock()
	if !rs.seen[r] {
		rs.seen[r] = true
		rs.reads = append(rs.reads, r)
	}
	rs.mu.Unlock()
}

// pendingCommand is a command the driver has sent and not yet had answered.
type pendingCommand struct {
	name  string   // the collection
	reads *readSet // a read: the documents in its answer are read too
	marks []uint32 // a write: the ObjectIDs it touches, marked once it is done
	coll  *atomic.Uint64
}

// fresh says whether nothing p read has been written since p was rendered.
func (pc *PageCache) fresh(p *cachedPage, now time.Time) bool {
	if now.Sub(p.at) > pc.ttl {
		return false
	}
	for _, r := range p.reads {
		if r.coll != nil {
			if r.coll.Load() > p.rendered {
				return false
			}
		} else if pc.marks[r.slot].Load() > p.rendered {
			return false
		}
	}
	return true
}

// slot is where the marks of one document, or of the documents that refer to one ObjectID,
// in one collection are kept: a write can only change what reads of its own collection see.
func (pc *PageCache) slot(coll string, id bson.ObjectID) uint32 {
	var h maphash.Hash
	h.SetSeed(pc.seed)
	h.WriteString(coll)
	h.Write(id[:])
	return uint32(h.Sum64()) & (1<<16 - 1)
}

func (pc *PageCache) collection(name string) *atomic.Uint64 {
	if v, ok := pc.colls.Load(name); ok {
		return v.(*atomic.Uint64)
	}
	v, _ := pc.colls.LoadOrStore(name, new(atomic.Uint64))
	return v.(*atomic.Uint64)
}

// Monitor is the driver's command monitor that tells the cache what is read and written.
func (pc *PageCache) Monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: pc.started, Succeeded: pc.succeeded, Failed: pc.failed}
}

func (pc *PageCache) started(ctx context.Context, e *event.CommandStartedEvent) {
	coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
	switch e.CommandName {
	case "find", "aggregate", "count", "distinct", "getMore":
		rs, _ := store.ReadObserverFrom(ctx).(*readSet)
		if rs == nil {
			return
		}
		var filter bson.Raw
		switch e.CommandName {
		case "find":
			filter, _ = e.Command.Lookup("filter").DocumentOK()
		case "count", "distinct":
			filter, _ = e.Command.Lookup("query").DocumentOK()
		case "aggregate":
			if stages, ok := e.Command.Lookup("pipeline").ArrayOK(); ok {
				if first, err := stages.IndexErr(0); err == nil {
					if stage, ok := first.DocumentOK(); ok {
						filter, _ = stage.Lookup("$match").DocumentOK()
					}
				}
			}
		}
		cmd := &pendingCommand{reads: rs, name: coll}
		if e.CommandName != "getMore" {
			ids := objectIDs(filter, nil)
			// A look-up of one document by a key (FindOne: limit 1, no sort) depends on the
			// document it finds; what it does not find may be inserted by anyone, so a miss,
			// like a list, depends on the whole collection.
			limit, _ := e.Command.Lookup("limit").AsInt64OK()
			_, sorted := e.Command.Lookup("sort").DocumentOK()
			if e.CommandName == "find" && limit == 1 && !sorted {
				cmd.coll = pc.collection(coll)
			} else if len(ids) == 0 {
				rs.add(read{coll: pc.collection(coll)})
			}
			for _, id := range ids {
				rs.add(read{slot: pc.slot(coll, id)})
			}
		}
		pc.pending.Store(e.RequestID, cmd)
	case "insert", "update", "delete", "findAndModify":
		w := &pendingCommand{coll: pc.collection(coll)}
		var ids []bson.ObjectID
		switch e.CommandName {
		case "insert":
			docs, _ := e.Command.Lookup("documents").ArrayOK()
			values, _ := docs.Values()
			for _, v := range values {
				if doc, ok := v.DocumentOK(); ok {
					ids = topObjectIDs(doc, ids)
				}
			}
		case "update":
			ups, _ := e.Command.Lookup("updates").ArrayOK()
			values, _ := ups.Values()
			shown := false
			for _, v := range values {
				if doc, ok := v.DocumentOK(); ok && !onlyBookkeeping(doc.Lookup("u")) {
					q, _ := doc.Lookup("q").DocumentOK()
					ids, shown = objectIDs(q, ids), true
				}
			}
			if !shown {
				return
			}
		case "delete":
			dels, _ := e.Command.Lookup("deletes").ArrayOK()
			values, _ := dels.Values()
			for _, v := range values {
				if doc, ok := v.DocumentOK(); ok {
					q, _ := doc.Lookup("q").DocumentOK()
					ids = objectIDs(q, ids)
				}
			}
		case "findAndModify":
			q, _ := e.Command.Lookup("query").DocumentOK()
			ids = objectIDs(q, ids)
		}
		for _, id := range ids {
			w.marks = append(w.marks, pc.slot(coll, id))
		}
		pc.pending.Store(e.RequestID, w)
	}
}

// onlyBookkeeping says whether an update document only sets bookkeeping fields.
func onlyBookkeeping(u bson.RawValue) bool {
	doc, ok := u.DocumentOK()
	if !ok {
		return false
	}
	elems, err := doc.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "$set" {
		return false
	}
	set, ok := elems[0].Value().DocumentOK()
	if !ok {
		return false
	}
	setElems, _ := set.Elements()
	for _, el := range setElems {
		if !bookkeeping[el.Key()] {
			return false
		}
	}
	return true
}

func (pc *PageCache) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	v, ok := pc.pending.LoadAndDelete(e.RequestID)
	if !ok {
		return
	}
	cmd := v.(*pendingCommand)
	if cmd.reads != nil {
		// The documents a read got back: a later write to one of them makes the page stale.
		found := 0
		cursor, _ := e.Reply.Lookup("cursor").DocumentOK()
		for _, batch := range []string{"firstBatch", "nextBatch"} {
			docs, ok := cursor.Lookup(batch).ArrayOK()
			if !ok {
				continue
			}
			values, _ := docs.Values()
			for _, d := range values {
				found++
				if doc, ok := d.DocumentOK(); ok {
					if id, ok := doc.Lookup("_id").ObjectIDOK(); ok {
						cmd.reads.add(read{slot: pc.slot(cmd.name, id)})
					}
				}
			}
		}
		if cmd.coll != nil && found == 0 { // a look-up that found nothing
			cmd.reads.add(read{coll: cmd.coll})
		}
		return
	}
	pc.written(cmd)
}

// failed marks a write's targets too: part of a batch may have been written.
func (pc *PageCache) failed(_ context.Context, e *event.CommandFailedEvent) {
	if v, ok := pc.pending.LoadAndDelete(e.RequestID); ok && v.(*pendingCommand).reads == nil {
		pc.written(v.(*pendingCommand))
	}
}

func (pc *PageCache) written(w *pendingCommand) {
	n := pc.seq.Add(1)
	w.coll.Store(n)
	for _, s := range w.marks {
		pc.marks[s].Store(n)
	}
}

// objectIDs appends every ObjectID in a filter, at any depth ($in lists, $or branches).
func objectIDs(doc bson.Raw, out []bson.ObjectID) []bson.ObjectID {
	elems, err := doc.Elements()
	if err != nil {
		return out
	}
	for _, el := range elems {
		out = objectIDsIn(el.Value(), out)
	}
	return out
}

func objectIDsIn(v bson.RawValue, out []bson.ObjectID) []bson.ObjectID {
	if id, ok := v.ObjectIDOK(); ok {
		return append(out, id)
	}
	if doc, ok := v.DocumentOK(); ok {
		return objectIDs(doc, out)
	}
	if arr, ok := v.ArrayOK(); ok {
		values, _ := arr.Values()
		for _, x := range values {
			out = objectIDsIn(x, out)
		}
	}
	return out
}

// topObjectIDs appends the ObjectIDs among a document's own fields: its _id and what it
// refers to (a post's thread, a vote's idea).
func topObjectIDs(doc bson.Raw, out []bson.ObjectID) []bson.ObjectID {
	elems, err := doc.Elements()
	if err != nil {
		return out
	}
	for _, el := range elems {
		if id, ok := el.Value().ObjectIDOK(); ok {
			out = append(out, id)
		}
	}
	return out
}

// servePages answers an anonymous visitor's GET from the cache when it holds the page, so
// such a request does no other work (not even wait for admission). A page gone stale is
// served stale while one request, let through here, renders it again.
func (s *Server) servePages(c *fiber.Ctx) error {
	pc := s.deps.Pages
	if pc == nil || c.Method() != fiber.MethodGet || web.User(c) != nil || s.cookie(c, flashCookie) != "" ||
		c.Get(fiber.HeaderCacheControl) == "no-cache" { // a reload that asks for a fresh page (and guyub bench --uncached)
		return c.Next()
	}
	key := s.language(c) + " " + string(c.Request().URI().RequestURI())
	now := time.Now()
	pc.mu.Lock()
	page := pc.pages[key]
	fresh := page != nil && pc.fresh(page, now)
	refresh := page == nil
	// A stale page is rendered again by one request at a time, and at most once a
	// rerender interval: a list that every write changes is not rendered for every write.
	if page != nil && !fresh && !pc.busy[key] && now.Sub(page.at) >= pc.rerender {
		pc.busy[key], refresh = true, true
	}
	pc.mu.Unlock()
	if !refresh {
		if fresh {
			pc.hits[0].Add(1)
			c.Set("X-Cache", "hit")
		} else {
			pc.hits[1].Add(1)
			c.Set("X-Cache", "stale")
		}
		return page.write(c)
	}
	pc.hits[2].Add(1)
	if page != nil {
		defer func() {
			pc.mu.Lock()
			delete(pc.busy, key)
			pc.mu.Unlock()
		}()
	}
	c.Locals(pageKeyLocal, key)
	return c.Next()
}

// pageKeyLocal is the cache key of a page servePages let through to be rendered.
const pageKeyLocal = "page_key"

// cached keeps h's response for anonymous visitors (servePages serves it), noting what it
// read. Pages that show something personal to the visitor (a form with a CSRF token, a
// flash message, a cookie set) are never kept.
func (s *Server) cached(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key, ok := c.Locals(pageKeyLocal).(string)
		pc := s.deps.Pages
		if !ok || pc == nil {
			return h(c)
		}
		rendered := pc.seq.Load()
		rs := &readSet{pc: pc, seen: map[read]bool{}}
		ctx := c.UserContext()
		c.SetUserContext(store.WithReadObserver(ctx, rs))
		err := h(c)
		c.SetUserContext(ctx)
		resp := c.Response()
		if err != nil || resp.StatusCode() != fiber.StatusOK || c.Locals(noCacheLocal) != nil || hasSetCookie(resp) {
			return err
		}
		page := &cachedPage{status: resp.StatusCode(), contentType: string(resp.Header.ContentType()),
			plain: bytes.Clone(resp.Body()), reads: rs.reads, rendered: rendered, at: time.Now()}
		for _, name := range []string{fiber.HeaderVary, fiber.HeaderCacheControl, fiber.HeaderContentLanguage} {
			if v := resp.Header.Peek(name); len(v) > 0 {
				page.headers = append(page.headers, [2]string{name, string(v)})
			}
		}
		pc.store(key, page)
		c.Set("X-Cache", "miss")
		return nil
	}
}

func hasSetCookie(resp *fiber.Response) bool {
	found := false
	resp.Header.VisitAllCookie(func(_, _ []byte) { found = true })
	return found
}

// noCacheLocal marks a response as personal: it holds a CSRF token, say.
const noCacheLocal = "no_cache"

// compressible says whether a body is worth compressing.
func compressible(body []byte) bool { return len(body) >= 200 }

// encoded returns the body compressed for an encoding the browser takes (br, else gzip), made
// the first time a browser asks for it and kept with the page: a hit is never compressed
// again, and an encoding nobody asks for is never made.
func (p *cachedPage) encoded(accept string) (body []byte, encoding string) {
	if !compressible(p.plain) {
		return p.plain, ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var b bytes.Buffer
	switch {
	case strings.Contains(accept, "br"):
		if p.br == nil {
			bw := brotli.NewWriterLevel(&b, 1) // level 4 took 4 times as long for 15 % smaller pages
			if _, err := bw.Write(p.plain); err != nil || bw.Close() != nil {
				return p.plain, ""
			}
			p.br = bytes.Clone(b.Bytes())
		}
		return p.br, "br"
	case strings.Contains(accept, "gzip"):
		if p.gz == nil {
			gw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
			if _, err := gw.Write(p.plain); err != nil || gw.Close() != nil {
				return p.plain, ""
			}
			p.gz = bytes.Clone(b.Bytes())
		}
		return p.gz, "gzip"
	}
	return p.plain, ""
}

// write sends the page in the encoding the browser takes best.
func (p *cachedPage) write(c *fiber.Ctx) error {
	for _, h := range p.headers {
		c.Set(h[0], h[1])
	}
	c.Set(fiber.HeaderContentType, p.contentType)
	body, encoding := p.encoded(c.Get(fiber.HeaderAcceptEncoding))
	if encoding != "" {
		c.Set(fiber.HeaderContentEncoding, encoding)
	}
	if compressible(p.plain) {
		c.Vary(fiber.HeaderAcceptEncoding)
	}
	return c.Status(p.status).Send(body)
}

// store keeps a page, making room by dropping others when over the byte budget.
func (pc *PageCache) store(key string, p *cachedPage) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if old := pc.pages[key]; old != nil {
		pc.bytes -= old.size()
	}
	for k, old := range pc.pages { // map order is random: a cheap random eviction
		if pc.bytes+p.size() <= pc.maxBytes {
			break
		}
		if k != key {
			pc.bytes -= old.size()
			delete(pc.pages, k)
		}
	}
	pc.pages[key] = p
	pc.bytes += p.size()
}

// Changed tells the cache that source, something pages read outside MongoDB (the search
// index), has changed: every page that read it is stale.
func (pc *PageCache) Changed(source string) {
	pc.collection(source).Store(pc.seq.Add(1))
}

// ChangedWithin is Changed for a source that changes all the time (the search index takes
// every new post): the changes of a window are told at its end, at most once a window, so
// pages that read it are rendered at most once a window and are at most that stale.
func (pc *PageCache) ChangedWithin(source string, window time.Duration) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.soon == nil {
		pc.soon = map[string]bool{}
	}
	if pc.soon[source] {
		return
	}
	pc.soon[source] = true
	time.AfterFunc(window, func() {
		pc.mu.Lock()
		delete(pc.soon, source)
		pc.mu.Unlock()
		pc.Changed(source)
	})
}

// readsFrom notes that the page being rendered for c reads source (see Changed).
func (s *Server) readsFrom(c *fiber.Ctx, source string) {
	store.NoteRead(c.UserContext(), source)
}

// SearchIndex names the search index as a source of pages (see Changed).
const SearchIndex = "search index"

// Stats reports hits, stale answers and misses since start, and the entries held.
func (pc *PageCache) Stats() (hits, stale, misses uint64, entries, bytes int) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.hits[0].Load(), pc.hits[1].Load(), pc.hits[2].Load(), len(pc.pages), pc.bytes
}

// register adds the cache's figures to /metrics.
func (pc *PageCache) register(reg *prometheus.Registry) error {
	for i, result := range []string{"hit", "stale", "miss"} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "guyub_page_cache_requests_total",
			Help:        "Anonymous page requests by how the cache answered: hit, stale (while another request renders it), miss.",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(pc.hits[i].Load()) })
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "guyub_page_cache_entries", Help: "Pages held by the cache."},
		func() float64 { _, _, _, n, _ := pc.Stats(); return float64(n) })
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "guyub_page_cache_bytes", Help: "Bytes of pages held by the cache."},
		func() float64 { _, _, _, _, b := pc.Stats(); return float64(b) })
	for _, c := range []prometheus.Collector{entries, size} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
