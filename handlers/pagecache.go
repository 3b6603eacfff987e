package handlers

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
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
// and every write its collection. A read with a projection (the authors' names on a thread)
// notes only the fields it asked for, and an update marks only the fields it changes, so a
// member's counters moving leaves the pages that show their name alone. An entry is fresh
// while nothing it read has been marked since it was rendered.
//
// When an entry goes stale, it is rendered again in the background while visitors are still
// given the stale copy, so readers never queue behind a render. Entries also expire after ttl:
// with several instances on one MongoDB each sees only its own writes, so their ttl is short.
type PageCache struct {
	ttl      time.Duration
	maxBytes int
	// rerender bounds how often one page is rendered again: a visitor sees a change at most
	// this late (the member who made it sees it at once: signed-in pages are not cached).
	rerender time.Duration

	seq     atomic.Uint64          // counts writes; every mark is the write's number
	log     markLog                // what the latest writes touched, by key
	colls   sync.Map               // collection name → *atomic.Uint64, the last write to it
	seed    maphash.Seed           // for the keys
	pending sync.Map               // driver request ID → *pendingCommand
	mu      sync.Mutex             // guards pages, bytes, busy, soon
	pages   map[string]*cachedPage // by language and URL
	bytes   int                    // size of the pages held
	busy    map[string]bool        // pages being rendered again
	renders chan struct{}          // a slot per page rendered again in the background
	// refreshWait is how long a visitor who finds a page stale waits for it to be rendered
	// again before being given the stale copy (0: not at all).
	refreshWait time.Duration
	soon        map[string]bool  // sources with a change still to tell (ChangedWithin)
	hits        [3]atomic.Uint64 // hit, stale, miss: for /metrics
}

// bookkeeping are fields that pages do not show: an update that only sets them (the search
// worker marking a document indexed, the hourly voters' figures of an idea) drops no page.
var bookkeeping = map[string]bool{"search_dirty": true, "voters": true} // voters: staff see them, never a cached page

// NewPageCache returns a cache whose entries live at most ttl and take at most maxBytes.
func NewPageCache(ttl time.Duration, maxBytes int) *PageCache {
	return &PageCache{ttl: ttl, maxBytes: maxBytes, rerender: time.Second, seed: maphash.MakeSeed(),
		pages: map[string]*cachedPage{}, busy: map[string]bool{}, renders: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// SetRefreshWait sets how long a visitor who finds a page stale waits for its new rendering
// before being given the stale copy (by default not at all: a visitor never waits for a
// render of a page already seen).
func (pc *PageCache) SetRefreshWait(d time.Duration) { pc.refreshWait = d }

// SetRerenderInterval sets how often one page may be rendered again (a second by default).
func (pc *PageCache) SetRerenderInterval(d time.Duration) { pc.rerender = d }

// cachedPage is a rendered response, compressed once for each encoding browsers ask for.
type cachedPage struct {
	status      int
	contentType string
	headers     [][2]string
	plain       []byte
	etag        string     // of plain, as Fiber's etag middleware makes it before compressing
	mu          sync.Mutex // guards br and gz, made on demand
	gz, br      []byte
	colls       []*atomic.Uint64 // whole collections it read
	keys        []uint64         // documents, referred ObjectIDs and fields it read, sorted
	rendered    uint64           // the write count when the render began
	checked     atomic.Uint64    // the write count up to which no mark names its keys
	at          time.Time        // when it was stored
}

// size is what a page takes: its body, a third more for the compressed copies made later,
// and its reads.
func (p *cachedPage) size() int { return len(p.plain)*4/3 + 8*len(p.keys) + 8*len(p.colls) }

// etagTable is Fiber's etag middleware's polynomial: a page has the same ETag whether it came
// from the cache or was just rendered, so a browser's conditional request matches either way.
var etagTable = crc32.MakeTable(0xD5828281)

// etagOf is body's ETag, made once when the page is kept: hashing every hit's body took a
// quarter of the time a hit takes.
func etagOf(body []byte) string {
	return fmt.Sprintf(`"%d-%d"`, uint32(len(body)), crc32.Checksum(body, etagTable))
}

// readSet collects a render's reads; the driver monitor finds it in the request's context.
type readSet struct {
	pc    *PageCache
	mu    sync.Mutex
	keys  map[uint64]bool
	colls map[*atomic.Uint64]bool
}

// ReadCollection notes a read served without the driver (store.Cached).
func (rs *readSet) ReadCollection(name string) { rs.addCollection(rs.pc.collection(name)) }

func (rs *readSet) addCollection(c *atomic.Uint64) {
	rs.mu.Lock()
	rs.colls[c] = true
	rs.mu.Unlock()
}

func (rs *readSet) add(key uint64) {
	rs.mu.Lock()
	rs.keys[key] = true
	rs.mu.Unlock()
}

// markLog keeps the keys the latest writes touched, in the order of their write numbers, so a
// page checks only what was written since it last looked. A page that last looked before the
// oldest kept mark is stale.
type markLog struct {
	mu      sync.RWMutex
	entries [1 << 16]mark // a ring
	next    uint64        // marks ever added; the newest is at (next-1) % len
	lost    uint64        // the write number of the newest mark dropped from the ring
}

type mark struct{ seq, key uint64 }

// fresh says whether no mark after seq names one of keys (sorted), and returns the newest
// write number it looked at.
func (l *markLog) fresh(keys []uint64, seq uint64) (bool, uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.lost > seq {
		return false, seq
	}
	size := uint64(len(l.entries))
	oldest := l.next - min(l.next, size)
	// The first mark after seq: marks are in write order.
	i := oldest + uint64(sort.Search(int(l.next-oldest), func(i int) bool { return l.entries[(oldest+uint64(i))%size].seq > seq }))
	newest := seq
	for ; i < l.next; i++ {
		m := l.entries[i%size]
		if _, found := slices.BinarySearch(keys, m.key); found {
			return false, seq
		}
		newest = m.seq
	}
	return true, newest
}

// pendingCommand is a command the driver has sent and not yet had answered.
type pendingCommand struct {
	name  string   // the collection
	reads *readSet // a read: the documents in its answer are read too
	marks []uint64 // a write: the ObjectIDs (and fields) it touches, marked once it is done
	coll  *atomic.Uint64
	// A read with a projection (an author's name and avatar) depends on those fields of the
	// documents it gets back, not on the rest: a member's counters moving leaves every page
	// that shows their name alone. wanted are the _ids it asked for, whose absence it shows.
	fields []string
	wanted []bson.ObjectID
	// unnamed is the collection's count of writes that name no document by an ObjectID.
	unnamed *atomic.Uint64
}

// fresh says whether nothing p read has been written since p was rendered.
func (pc *PageCache) fresh(p *cachedPage, now time.Time) bool {
	if now.Sub(p.at) > pc.ttl {
		return false
	}
	for _, c := range p.colls {
		if c.Load() > p.rendered {
			return false
		}
	}
	checked := p.checked.Load()
	fresh, upTo := pc.log.fresh(p.keys, checked)
	if fresh && upTo > checked {
		p.checked.CompareAndSwap(checked, upTo) // a later look starts there
	}
	return fresh
}

// key names one document, or the documents that refer to one ObjectID, in one collection (a
// write can only change what reads of its own collection see) — with a token, one field of
// that document (readTokens, writeTokens).
func (pc *PageCache) key(coll string, id bson.ObjectID, token string) uint64 {
	var h maphash.Hash
	h.SetSeed(pc.seed)
	h.WriteString(coll)
	h.WriteByte(0)
	h.Write(id[:])
	h.WriteString(token)
	return h.Sum64()
}

// wholeDocument is the token every write that may change any field marks (a delete, a
// replacement) and every read of fields notes.
const wholeDocument = "!"

// Field tokens: a write to path W conflicts with a read of path R when one is a prefix of the
// other (or they are equal). A read notes "=P" for R and each prefix P of it, and "<R"; a
// write marks "=W" and "<P" for each proper prefix P of W. So a write of "loyalty.points"
// leaves a read of "loyalty.level" alone, and a write of "loyalty" does not.
func readTokens(paths []string) []string {
	out := []string{wholeDocument}
	for _, r := range paths {
		for i := range len(r) {
			if r[i] == '.' {
				out = append(out, "="+r[:i])
			}
		}
		out = append(out, "="+r, "<"+r)
	}
	return out
}

func writeTokens(paths []string) []string {
	var out []string
	for _, w := range paths {
		out = append(out, "="+w)
		for i := range len(w) {
			if w[i] == '.' {
				out = append(out, "<"+w[:i])
			}
		}
	}
	return out
}

// updateMarks appends what an update (u), or a delete (u unset), of the documents a filter
// names by ids marks: each document, and the fields the update changes — or the whole
// document when it is not an update by operators (a replacement, a pipeline, a delete).
func (pc *PageCache) updateMarks(marks []uint64, coll string, ids []bson.ObjectID, u bson.RawValue) []uint64 {
	paths, known := changedPaths(u)
	tokens := writeTokens(paths)
	if !known {
		tokens = []string{wholeDocument}
	}
	for _, id := range ids {
		marks = append(marks, pc.key(coll, id, ""))
		for _, t := range tokens {
			marks = append(marks, pc.key(coll, id, t))
		}
	}
	return marks
}

// changedPaths lists the paths an update by operators ($set, $inc, $push…) changes, and says
// whether u is such an update.
func changedPaths(u bson.RawValue) (paths []string, known bool) {
	doc, ok := u.DocumentOK()
	if !ok {
		return nil, false
	}
	elems, err := doc.Elements()
	if err != nil || len(elems) == 0 {
		return nil, false
	}
	for _, op := range elems {
		if !strings.HasPrefix(op.Key(), "$") {
			return nil, false // a replacement
		}
		fields, ok := op.Value().DocumentOK()
		if !ok {
			return nil, false
		}
		fieldElems, _ := fields.Elements()
		for _, f := range fieldElems {
			paths = append(paths, f.Key())
			if to, ok := f.Value().StringValueOK(); ok && op.Key() == "$rename" {
				paths = append(paths, to)
			}
		}
	}
	return paths, true
}

// projected returns the paths an inclusion projection keeps, or nil for none (or an
// exclusion, which keeps fields nobody named).
func projected(v bson.RawValue) []string {
	doc, ok := v.DocumentOK()
	if !ok {
		return nil
	}
	elems, err := doc.Elements()
	if err != nil {
		return nil
	}
	var paths []string
	for _, el := range elems {
		if el.Key() == "_id" {
			continue
		}
		if n, ok := el.Value().AsInt64OK(); !ok || n != 1 {
			if b, ok := el.Value().BooleanOK(); !ok || !b {
				return nil
			}
		}
		paths = append(paths, el.Key())
	}
	return paths
}

// objectIDsBesideID splits a filter's ObjectIDs: those under its top-level _id, and the
// others (what it refers to).
func objectIDsBesideID(filter bson.Raw) (others, ids []bson.ObjectID) {
	elems, err := filter.Elements()
	if err != nil {
		return nil, nil
	}
	for _, el := range elems {
		if el.Key() == "_id" {
			ids = objectIDsIn(el.Value(), ids)
		} else {
			others = objectIDsIn(el.Value(), others)
		}
	}
	return others, ids
}

// unnamed is the number of the last write to a collection that named no document by an
// ObjectID, under which every document read from it may have changed.
func (pc *PageCache) unnamed(name string) *atomic.Uint64 { return pc.collection(name + "\x00unnamed") }

// namesDocuments says whether each of a write's filters names the documents it changes by
// ObjectIDs (objectIDs), so that marking those covers every document it may change.
func namesDocuments(e *event.CommandStartedEvent) bool {
	var filters []bson.Raw
	switch e.CommandName {
	case "findAndModify":
		q, _ := e.Command.Lookup("query").DocumentOK()
		filters = append(filters, q)
	case "update", "delete":
		list, _ := e.Command.Lookup(e.CommandName + "s").ArrayOK()
		values, _ := list.Values()
		for _, v := range values {
			doc, _ := v.DocumentOK()
			q, _ := doc.Lookup("q").DocumentOK()
			filters = append(filters, q)
		}
	}
	for _, q := range filters {
		if len(objectIDs(q, nil)) == 0 {
			return false
		}
	}
	return true
}

// fieldsOf appends the fields a filter or sort document names, at any depth of $and, $or
// and $nor, but not _id.
func fieldsOf(doc bson.Raw, out []string) []string {
	elems, _ := doc.Elements()
	for _, el := range elems {
		key := el.Key()
		if strings.HasPrefix(key, "$") {
			list, _ := el.Value().ArrayOK()
			values, _ := list.Values()
			for _, v := range values {
				if d, ok := v.DocumentOK(); ok {
					out = fieldsOf(d, out)
				}
			}
			continue
		}
		if key != "_id" && !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
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
	if e.CommandName == "getMore" { // its first value is the cursor
		coll, _ = e.Command.Lookup("collection").StringValueOK()
	}
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
		if e.CommandName == "find" {
			// What it shows, and what chose and ordered the documents it got.
			if cmd.fields = projected(e.Command.Lookup("projection")); cmd.fields != nil {
				sort, _ := e.Command.Lookup("sort").DocumentOK()
				cmd.fields = fieldsOf(sort, fieldsOf(filter, cmd.fields))
			}
		}
		// Every document a read gets back also depends on writes that name none (below).
		rs.addCollection(pc.unnamed(coll))
		if e.CommandName != "getMore" {
			var ids []bson.ObjectID
			if cmd.fields != nil {
				// The _ids asked for are noted with the answer: the fields of those found,
				// the absence of the others.
				ids, cmd.wanted = objectIDsBesideID(filter)
			} else {
				ids = objectIDs(filter, nil)
			}
			// A look-up of one document by a key (FindOne: limit 1, no sort) depends on the
			// document it finds; what it does not find may be inserted by anyone, so a miss,
			// like a list, depends on the whole collection.
			limit, _ := e.Command.Lookup("limit").AsInt64OK()
			_, sorted := e.Command.Lookup("sort").DocumentOK()
			if e.CommandName == "find" && limit == 1 && !sorted {
				cmd.coll = pc.collection(coll)
			} else if len(ids) == 0 && len(cmd.wanted) == 0 {
				rs.addCollection(pc.collection(coll))
			}
			for _, id := range ids {
				rs.add(pc.key(coll, id, ""))
			}
		}
		pc.pending.Store(e.RequestID, cmd)
	case "insert", "update", "delete", "findAndModify":
		w := &pendingCommand{coll: pc.collection(coll)}
		if e.CommandName != "insert" && !namesDocuments(e) {
			// It may change any document (a purge, a bulk update): every page that read one
			// from this collection is stale.
			w.unnamed = pc.unnamed(coll)
		}
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
					w.marks, shown = pc.updateMarks(w.marks, coll, objectIDs(q, nil), doc.Lookup("u")), true
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
					w.marks = pc.updateMarks(w.marks, coll, objectIDs(q, nil), bson.RawValue{})
				}
			}
		case "findAndModify":
			q, _ := e.Command.Lookup("query").DocumentOK()
			update := e.Command.Lookup("update")
			if remove, _ := e.Command.Lookup("remove").BooleanOK(); remove {
				update = bson.RawValue{}
			}
			w.marks = pc.updateMarks(w.marks, coll, objectIDs(q, nil), update)
		}
		for _, id := range ids {
			w.marks = append(w.marks, pc.key(coll, id, ""))
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
						if cmd.fields == nil {
							cmd.reads.add(pc.key(cmd.name, id, ""))
							continue
						}
						for _, token := range readTokens(cmd.fields) {
							cmd.reads.add(pc.key(cmd.name, id, token))
						}
						cmd.wanted = slices.DeleteFunc(cmd.wanted, func(w bson.ObjectID) bool { return w == id })
					}
				}
			}
		}
		for _, id := range cmd.wanted { // asked for and not there: an insert of it changes the page
			cmd.reads.add(pc.key(cmd.name, id, ""))
		}
		if cmd.coll != nil && found == 0 { // a look-up that found nothing
			cmd.reads.addCollection(cmd.coll)
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

// written numbers a write and logs its marks. The number is taken under the log's lock, so
// the log is in write order.
func (pc *PageCache) written(w *pendingCommand) {
	l := &pc.log
	l.mu.Lock()
	defer l.mu.Unlock()
	n := pc.seq.Add(1)
	w.coll.Store(n)
	if w.unnamed != nil {
		w.unnamed.Store(n)
	}
	size := uint64(len(l.entries))
	for _, key := range w.marks {
		slot := &l.entries[l.next%size]
		if l.next >= size {
			l.lost = slot.seq
		}
		*slot = mark{seq: n, key: key}
		l.next++
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
		// A bound ({_id: {$lt: x}}) or an exclusion names no document: the documents it
		// matches are not found by x.
		elems, err := doc.Elements()
		if err != nil {
			return out
		}
		for _, el := range elems {
			switch el.Key() {
			case "$gt", "$gte", "$lt", "$lte", "$ne", "$nin", "$not":
			default:
				out = objectIDsIn(el.Value(), out)
			}
		}
		return out
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
// rendered again in the background (refresh) while visitors are given the stale copy, so no
// visitor waits for a render once a page has been seen; only a page never seen is rendered
// in the request that asks for it.
func (s *Server) servePages(c *fiber.Ctx) error {
	pc := s.deps.Pages
	if key, ok := c.Locals(refreshLocal).(string); ok {
		if web.User(c) == nil {
			c.Locals(pageKeyLocal, key)
		}
		return c.Next()
	}
	if pc == nil || c.Method() != fiber.MethodGet || web.User(c) != nil || s.cookie(c, flashCookie) != "" ||
		c.Get(fiber.HeaderCacheControl) == "no-cache" { // a reload that asks for a fresh page (and guyub bench --uncached)
		return c.Next()
	}
	key := s.language(c) + " " + string(c.Request().URI().RequestURI())
	now := time.Now()
	pc.mu.Lock()
	page := pc.pages[key]
	pc.mu.Unlock()
	if page != nil && now.Sub(page.at) > pc.ttl {
		page = nil // too old to be given even while it is rendered again (other instances' writes)
	}
	// Checked outside the cache's lock (a stored page does not change): hits on other pages
	// do not wait for this one's look through the marks.
	fresh := page != nil && pc.fresh(page, now)
	// A stale page is rendered again by one render at a time, and at most once a rerender
	// interval: a list that every write changes is not rendered for every write.
	refresh := false
	if page != nil && !fresh && now.Sub(page.at) >= pc.rerender {
		pc.mu.Lock()
		if refresh = !pc.busy[key]; refresh {
			pc.busy[key] = true
		}
		pc.mu.Unlock()
	}
	if page == nil {
		pc.hits[2].Add(1)
		c.Locals(pageKeyLocal, key)
		return c.Next()
	}
	result := "hit"
	if !fresh {
		result = "stale"
	}
	if refresh {
		done := s.refresh(c, key)
		if pc.refreshWait > 0 {
			t := time.NewTimer(pc.refreshWait)
			select {
			case <-done:
				pc.mu.Lock()
				if p := pc.pages[key]; p != nil && p != page {
					page, result = p, "miss" // rendered for this request after all
				}
				pc.mu.Unlock()
			case <-t.C:
			}
			t.Stop()
		}
	}
	switch result {
	case "hit":
		pc.hits[0].Add(1)
	case "stale":
		pc.hits[1].Add(1)
	default:
		pc.hits[2].Add(1)
	}
	c.Set("X-Cache", result)
	return page.write(c)
}

// refreshLocal marks the background request that renders a stale page again; it holds the
// page's cache key.
const refreshLocal = "page_refresh"

// refresh renders the page c asked for again in the background, as the same anonymous request
// would, and keeps it; done is closed when it is kept or given up. At most as many pages
// render at once as there are cores: beyond that the stale copy stays until a later visit.
// The render skips the rate limit and admission (its visitor was already answered; the
// render slots bound it instead).
func (s *Server) refresh(c *fiber.Ctx, key string) (done <-chan struct{}) {
	pc := s.deps.Pages
	finished := make(chan struct{})
	release := func() {
		pc.mu.Lock()
		delete(pc.busy, key)
		pc.mu.Unlock()
		close(finished)
	}
	select {
	case pc.renders <- struct{}{}:
	default:
		release()
		return finished
	}
	req := new(fasthttp.Request)
	c.Request().CopyTo(req)
	req.Header.Del(fiber.HeaderAcceptEncoding) // kept uncompressed: the cache compresses per encoding
	remote := c.Context().RemoteAddr()
	go func() {
		defer func() {
			<-pc.renders
			release()
		}()
		var rctx fasthttp.RequestCtx
		rctx.Init(req, remote, nil)
		rctx.SetUserValue(refreshLocal, key)
		s.handler(&rctx)
	}()
	return finished
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
		rs := &readSet{pc: pc, keys: map[uint64]bool{}, colls: map[*atomic.Uint64]bool{}}
		ctx := c.UserContext()
		c.SetUserContext(store.WithReadObserver(ctx, rs))
		err := h(c)
		c.SetUserContext(ctx)
		resp := c.Response()
		if err != nil || resp.StatusCode() != fiber.StatusOK || c.Locals(noCacheLocal) != nil || hasSetCookie(resp) {
			if c.Locals(refreshLocal) != nil {
				pc.drop(key) // gone, failing or now personal: the next visitor's request renders it
			}
			return err
		}
		body := bytes.Clone(resp.Body())
		page := &cachedPage{status: resp.StatusCode(), contentType: string(resp.Header.ContentType()),
			plain: body, etag: etagOf(body), rendered: rendered, at: time.Now()}
		rs.mu.Lock()
		page.keys = slices.Sorted(maps.Keys(rs.keys))
		page.colls = slices.Collect(maps.Keys(rs.colls))
		rs.mu.Unlock()
		page.checked.Store(rendered)
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

// write sends the page in the encoding the browser takes best, or 304 Not Modified when the
// browser already holds it.
func (p *cachedPage) write(c *fiber.Ctx) error {
	for _, h := range p.headers {
		c.Set(h[0], h[1])
	}
	c.Set(fiber.HeaderETag, p.etag)
	if compressible(p.plain) {
		c.Vary(fiber.HeaderAcceptEncoding) // on a 304 too, as on the 200 it stands for
	}
	// If-None-Match compares weakly (RFC 9110 13.1.2), W/"x" matching "x", and may list several.
	if strings.Contains(c.Get(fiber.HeaderIfNoneMatch), p.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, p.contentType)
	body, encoding := p.encoded(c.Get(fiber.HeaderAcceptEncoding))
	if encoding != "" {
		c.Set(fiber.HeaderContentEncoding, encoding)
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

// drop forgets a page.
func (pc *PageCache) drop(key string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if old := pc.pages[key]; old != nil {
		pc.bytes -= old.size()
		delete(pc.pages, key)
	}
}

// Changed tells the cache that source, something pages read outside MongoDB (the search
// index), has changed: every page that read it is stale.
func (pc *PageCache) Changed(source string) {
	pc.written(&pendingCommand{coll: pc.collection(source)})
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
