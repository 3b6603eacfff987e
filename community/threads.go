package community

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Thread is a forum topic: its title and metadata. Its text is its opening post.
type Thread struct {
	ID               bson.ObjectID  `bson:"_id" json:"id"`
	CategoryID       bson.ObjectID  `bson:"category_id" json:"category_id"`
	AuthorID         bson.ObjectID  `bson:"author_id" json:"author_id"`
	Title            string         `bson:"title" json:"title"`
	Slug             string         `bson:"slug" json:"slug"`
	Tags             []string       `bson:"tags" json:"tags"`
	OpeningPostID    bson.ObjectID  `bson:"opening_post_id" json:"opening_post_id"`
	Pinned           bool           `bson:"pinned" json:"pinned"`
	Locked           bool           `bson:"locked" json:"locked"`
	LockReason       string         `bson:"lock_reason,omitempty" json:"lock_reason,omitempty"`
	ReplyCount       int            `bson:"reply_count" json:"reply_count"`
	LastPostAt       time.Time      `bson:"last_post_at" json:"last_post_at"`
	LastPosterID     bson.ObjectID  `bson:"last_poster_id,omitempty" json:"last_poster_id,omitzero"` // the last reply's author
	Solved           bool           `bson:"solved" json:"solved"`
	AcceptedPostID   *bson.ObjectID `bson:"accepted_post_id,omitempty" json:"accepted_post_id,omitempty"`
	Status           Status         `bson:"status" json:"status"`
	ModerationReason string         `bson:"moderation_reason,omitempty" json:"-"`
	Lang             string         `bson:"lang,omitempty" json:"lang,omitempty"`
	CreatedAt        time.Time      `bson:"created_at" json:"created_at"`
	UpdatedAt        time.Time      `bson:"updated_at" json:"updated_at"`
	Version          int            `bson:"version" json:"-"`
	SearchDirty      bool           `bson:"search_dirty" json:"-"`
}

// URL is the thread's readable address: /threads/{slug}-{id}.
func (t *Thread) URL() string { return "/threads/" + slugID(t.Slug, t.ID) }

func slugID(slug string, id bson.ObjectID) string {
	if slug == "" {
		return id.Hex()
	}
	return slug + "-" + id.Hex()
}

// ParseSlugID reads the ID at the end of a "slug-id" path segment.
func ParseSlugID(s string) (bson.ObjectID, bool) {
	if len(s) < 24 {
		return bson.ObjectID{}, false
	}
	id, err := bson.ObjectIDFromHex(s[len(s)-24:])
	return id, err == nil
}

// ThreadInput is the new-thread form and the API's thread.
type ThreadInput struct {
	Category string   `form:"category" json:"category"` // slug
	Title    string   `form:"title" json:"title"`
	Body     string   `form:"body" json:"body"`
	Tags     []string `form:"tags" json:"tags"` // "a, b" in a form field is split on commas
	Lang     string   `form:"-" json:"lang"`
}

// Limits of a thread.
const (
	MaxTitle = 150
	MaxTags  = 5
)

func validTitle(f *errs.Fields, title string) {
	switch n := utf8.RuneCountInString(title); {
	case n < 5:
		f.Add("title", "field.too_short", "Min", 5)
	case n > MaxTitle:
		f.Add("title", "field.too_long", "Max", MaxTitle)
	}
}

func validTags(f *errs.Fields, tags []string) {
	if len(tags) > MaxTags {
		f.Add("tags", "thread.too_many_tags", "Max", MaxTags)
	}
	for _, t := range tags {
		if len(t) > 30 {
			f.Add("tags", "field.too_long", "Max", 30)
		}
	}
}

// normalizeTags splits on commas, makes each tag a slug and drops repeats. It stops one
// past the most allowed (enough for validation to refuse), so a huge input costs nothing.
func normalizeTags(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, raw := range in {
		for _, t := range strings.SplitN(raw, ",", MaxTags+2) {
			if len(out) > MaxTags {
				return out
			}
			if t = content.Slugify(t); t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// Errors of threads.
var (
	ErrThreadNotFound = errs.New(errs.ErrNotFound, "thread.not_found")
	ErrStaffOnly      = errs.New(errs.ErrForbidden, "thread.staff_only")
)

// CreateThread starts a thread: the thread first, then its opening post, both screened
// as one submission.
func (s *Service) CreateThread(ctx context.Context, author *customers.Customer, in ThreadInput) (*Thread, error) {
	if err := suspended(author); err != nil {
		return nil, err
	}
	var f errs.Fields
	in.Title, in.Body, in.Tags = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body), normalizeTags(in.Tags)
	var cat *Category
	if in.Category == "" {
		f.Add("category", "field.required")
	} else if c, err := s.Category(ctx, in.Category); err != nil {
		f.Add("category", "category.not_found")
	} else {
		cat = c
	}
	validTitle(&f, in.Title)
	validBody(&f, in.Body)
	validTags(&f, in.Tags)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if cat.StaffOnly && !author.IsStaff() {
		return nil, ErrStaffOnly
	}
	now := content.Now(ctx, s.now)
	t := &Thread{ID: bson.NewObjectID(), CategoryID: cat.ID, AuthorID: author.ID, Title: in.Title, Slug: content.Slugify(in.Title),
		Tags: in.Tags, OpeningPostID: bson.NewObjectID(), LastPostAt: now, Lang: in.Lang,
		CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	sub := content.Submission{Ref: content.Ref{Kind: content.KindThread, ID: t.ID}, Author: author.ID,
		Category: cat.Slug}.Titled(in.Title, in.Body)
	verdict, err := s.screen.Screen(ctx, sub)
	if err != nil {
		return nil, err
	}
	t.Status = verdict.Status
	// The opening post first: until the thread is written, nothing of it shows anywhere,
	// so a failure in between leaves nothing half made to see.
	opening := &Post{ID: t.OpeningPostID, ParentKind: content.KindThread, ParentID: t.ID, AuthorID: author.ID, Opening: true,
		BodyMD: in.Body, BodyHTML: s.md.HTML(in.Body), Status: t.Status, Lang: in.Lang,
		CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	if _, err := s.posts.InsertOne(ctx, opening); err != nil {
		return nil, fmt.Errorf("create thread: %w", err)
	}
	if _, err := s.threads.InsertOne(ctx, t); err != nil {
		return nil, fmt.Errorf("create thread: %w", err)
	}
	store.FollowUp(ctx, "create thread",
		func() error { return s.screen.Record(ctx, sub, verdict) },
		func() error { return s.contributed(ctx, author.ID, "threads") })
	return t, nil
}

// Thread returns one thread.
func (s *Service) Thread(ctx context.Context, id bson.ObjectID) (*Thread, error) {
	return store.FindOne[Thread](ctx, s.threads, bson.M{"_id": id}, ErrThreadNotFound)
}

// ThreadBy finds a customer's thread by its title (for loading content once).
func (s *Service) ThreadBy(ctx context.Context, author bson.ObjectID, title string) (*Thread, error) {
	return store.FindOne[Thread](ctx, s.threads, bson.M{"author_id": author, "title": title}, ErrThreadNotFound)
}

// SetThreadStatus moves a thread (and its opening post) between pending, published,
// hidden and deleted; its replies leave or rejoin search with it. It returns the status
// before.
func (s *Service) SetThreadStatus(ctx context.Context, id bson.ObjectID, status Status, reason string) (Status, error) {
	set := bson.M{"status": status, "updated_at": s.now(), "search_dirty": true}
	if reason != "" || status == content.StatusPublished {
		set["moderation_reason"] = reason
	}
	var before Thread
	err := s.threads.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": set, "$inc": bson.M{"version": 1}}).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrThreadNotFound
	}
	if err != nil {
		return "", fmt.Errorf("thread status: %w", err)
	}
	if _, err := s.setPostStatus(ctx, bson.M{"parent_id": id, "opening": true}, status, reason); err != nil && !errors.Is(err, ErrPostNotFound) {
		return "", err
	}
	// The replies' search documents follow their thread's visibility.
	if _, err := s.posts.UpdateMany(ctx, bson.M{"parent_id": id, "opening": false},
		bson.M{"$set": bson.M{"search_dirty": true}, "$inc": bson.M{"version": 1}}); err != nil {
		return "", fmt.Errorf("thread status: %w", err)
	}
	return before.Status, nil
}

// staffAction changes a thread's metadata; moderators (and admins) only.
func (s *Service) staffAction(ctx context.Context, staff *customers.Customer, id bson.ObjectID, set bson.M) (*Thread, error) {
	if !staff.HasRole(customers.RoleModerator) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	set["updated_at"] = s.now()
	set["search_dirty"] = true
	var out Thread
	err := s.threads.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": set, "$inc": bson.M{"version": 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrThreadNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("thread: %w", err)
	}
	return &out, nil
}

// Pin puts a thread at the top of its lists, or takes it off.
func (s *Service) Pin(ctx context.Context, staff *customers.Customer, id bson.ObjectID, pinned bool) (*Thread, error) {
	return s.staffAction(ctx, staff, id, bson.M{"pinned": pinned})
}

// Lock stops new replies (staff still may), with the reason readers are told; unlock
// opens the thread again.
func (s *Service) Lock(ctx context.Context, staff *customers.Customer, id bson.ObjectID, locked bool, reason string) (*Thread, error) {
	reason = strings.TrimSpace(reason)
	if locked && reason == "" {
		return nil, errs.Field("reason", "field.required")
	}
	if utf8.RuneCountInString(reason) > 300 {
		return nil, errs.Field("reason", "field.too_long", "Max", 300)
	}
	if !locked {
		reason = ""
	}
	return s.staffAction(ctx, staff, id, bson.M{"locked": locked, "lock_reason": reason})
}

// Move puts a thread in another category.
func (s *Service) Move(ctx context.Context, staff *customers.Customer, id bson.ObjectID, categorySlug string) (*Thread, error) {
	cat, err := s.Category(ctx, categorySlug)
	if err != nil {
		return nil, errs.Field("category", "category.not_found")
	}
	return s.staffAction(ctx, staff, id, bson.M{"category_id": cat.ID})
}

// Accept marks a reply as the thread's accepted answer (or, with a zero post, removes the
// mark): the thread's author or staff may. The answer's author is told and it counts
// toward their stage, once per answer however often it is retried.
func (s *Service) Accept(ctx context.Context, who *customers.Customer, threadID, postID bson.ObjectID) (*Thread, error) {
	if err := suspended(who); err != nil {
		return nil, err
	}
	t, err := s.Thread(ctx, threadID)
	if err != nil {
		return nil, err
	}
	if t.AuthorID != who.ID && !who.IsStaff() {
		return nil, errs.New(errs.ErrForbidden, "thread.accept_forbidden")
	}
	if t.AcceptedPostID != nil && *t.AcceptedPostID != postID {
		if prev, err := s.Post(ctx, *t.AcceptedPostID); err == nil { // no longer the answer: its points go
			s.reward(ctx, content.Reward{Member: prev.AuthorID, Cause: content.CauseAnswer, Ref: prev.ID.Hex()}, false)
		}
	}
	if postID.IsZero() {
		var out Thread
		err := s.threads.FindOneAndUpdate(ctx, bson.M{"_id": threadID}, bson.M{"$set": bson.M{"solved": false, "updated_at": s.now()},
			"$unset": bson.M{"accepted_post_id": ""}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
		if err != nil {
			return nil, fmt.Errorf("unaccept: %w", err)
		}
		return &out, nil
	}
	p, err := s.Post(ctx, postID)
	if err != nil || p.ParentID != threadID || p.Opening || p.Status != content.StatusPublished {
		return nil, errs.Field("post", "post.not_found")
	}
	var out Thread
	err = s.threads.FindOneAndUpdate(ctx, bson.M{"_id": threadID, "accepted_post_id": bson.M{"$ne": postID}},
		bson.M{"$set": bson.M{"accepted_post_id": postID, "solved": true, "updated_at": s.now()}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Already the accepted answer: a retry goes on, so what a failed call left undone
		// (the notification, the count) is done now; both are keyed and happen once.
		again, err := s.Thread(ctx, threadID)
		if err != nil {
			return nil, err
		}
		out = *again
	} else if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	if out.AcceptedPostID == nil || *out.AcceptedPostID != postID {
		return &out, nil // changed meanwhile
	}
	if p.AuthorID == t.AuthorID || p.AuthorID == who.ID {
		return &out, nil // answering your own question, or accepting your own reply, is not counted
	}
	s.reward(ctx, content.Reward{Member: p.AuthorID, Cause: content.CauseAnswer, Ref: p.ID.Hex(), Actor: who.ID,
		ActorSince: who.CreatedAt, Lang: p.Lang}, true)
	if err := s.notify(ctx, Notification{CustomerID: p.AuthorID, Kind: NotifyAccepted, ActorID: who.ID,
		Title: t.Title, URL: t.URL() + "#post-" + p.ID.Hex(), Key: "accepted:" + p.ID.Hex()}); err != nil {
		return nil, err
	}
	// Counted once per answer, however often it is accepted again.
	res, err := s.posts.UpdateOne(ctx, bson.M{"_id": p.ID, "accept_counted": bson.M{"$ne": true}}, bson.M{"$set": bson.M{"accept_counted": true}})
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	if res.ModifiedCount == 0 {
		return &out, nil
	}
	return &out, s.contributed(ctx, p.AuthorID, "accepted")
}

// Thread list orders.
const (
	SortLatest     = "latest" // latest activity
	SortNewest     = "newest"
	SortUnanswered = "unanswered"
	SortSolved     = "solved"
)

// ThreadSorts lists the orders of thread lists, the default first.
var ThreadSorts = []string{SortLatest, SortNewest, SortUnanswered, SortSolved}

// ThreadQuery selects a page of published threads.
type ThreadQuery struct {
	CategoryID bson.ObjectID // optional
	Tag        string        // optional
	Unpinned   bool          // leave pinned threads out (the home page's latest activity)
	Sort       string
	After      string
	Limit      int
}

// ThreadPage is a page of threads and the cursor of the next, "" on the last.
type ThreadPage struct {
	Threads []*Thread `json:"threads"`
	Next    string    `json:"next,omitempty"`
}

// Threads lists published threads a page at a time by key. In the latest-activity order
// (without a tag) pinned threads head the first page, and the following pages hold the
// others.
func (s *Service) Threads(ctx context.Context, q ThreadQuery) (*ThreadPage, error) {
	limit := store.Limit(q.Limit, 20, 100)
	filter := bson.M{"status": content.StatusPublished}
	if !q.CategoryID.IsZero() {
		filter["category_id"] = q.CategoryID
	}
	if q.Tag != "" {
		filter["tags"] = q.Tag
	}
	field := "last_post_at" // by activity; "" by _id: newest first
	switch q.Sort {
	case SortNewest:
		field = ""
	case SortUnanswered:
		field = ""
		filter["reply_count"] = 0
	case SortSolved:
		filter["solved"] = true
	}
	pinnedFirst := field != "" && q.Sort != SortSolved && q.Tag == "" && !q.Unpinned
	if q.Unpinned {
		filter["pinned"] = false
	}
	// A cursor that ends inside the pinned block says so ("~…"): the next page finishes the
	// pinned threads, then goes on with the others.
	after, inPinned := strings.CutPrefix(q.After, "~")
	toTime := func(ms int64) any { return time.UnixMilli(ms).UTC() }
	var sort bson.D
	ok := true
	switch {
	case pinnedFirst && inPinned:
		rest := bson.M{"pinned": true}
		if sort, ok = store.DescendingPage(rest, field, after, toTime); ok {
			filter["$or"] = bson.A{rest, bson.M{"pinned": false}}
		}
	case pinnedFirst && q.After != "":
		filter["pinned"] = false
		sort, ok = store.DescendingPage(filter, field, after, toTime)
	default:
		sort, ok = store.DescendingPage(filter, field, after, toTime)
	}
	if !ok || (inPinned && !pinnedFirst) {
		return nil, ErrBadCursor
	}
	if pinnedFirst && (q.After == "" || inPinned) {
		sort = append(bson.D{{Key: "pinned", Value: -1}}, sort...)
	}
	list, err := s.findThreads(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, err
	}
	page := &ThreadPage{}
	page.Threads, page.Next = store.TrimPage(list, limit, func(t *Thread) string {
		if pinnedFirst && t.Pinned {
			return "~" + threadCursor(t)
		}
		return threadCursor(t)
	})
	return page, nil
}

func (s *Service) findThreads(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]*Thread, error) {
	return store.FindAll[Thread](ctx, s.threads, filter, opts)
}

func threadCursor(t *Thread) string { return store.EncodeCursor(t.LastPostAt.UnixMilli(), t.ID) }
