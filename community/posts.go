package community

import (
	"context"
	"errors"
	"fmt"
	"html/template"
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

// Post is a thread's opening text, a reply in a thread, or a comment on an idea: one
// machinery for all three (likes, quotes, edits, moderation).
type Post struct {
	ID               bson.ObjectID  `bson:"_id" json:"id"`
	ParentKind       content.Kind   `bson:"parent_kind" json:"parent_kind"` // thread or idea
	ParentID         bson.ObjectID  `bson:"parent_id" json:"parent_id"`
	AuthorID         bson.ObjectID  `bson:"author_id" json:"author_id"`
	Opening          bool           `bson:"opening" json:"opening"` // a thread's first post
	BodyMD           string         `bson:"body_md" json:"body"`
	BodyHTML         template.HTML  `bson:"body_html" json:"body_html"`
	QuoteOf          *bson.ObjectID `bson:"quote_of,omitempty" json:"quote_of,omitempty"`
	Likes            int            `bson:"likes" json:"likes"`
	Status           Status         `bson:"status" json:"status"`
	ModerationReason string         `bson:"moderation_reason,omitempty" json:"-"`
	History          []Revision     `bson:"history,omitempty" json:"-"`
	EditedAt         *time.Time     `bson:"edited_at,omitempty" json:"edited_at,omitempty"`
	// Counted says whether the post adds one to its parent's reply_count now; moving it
	// first, guarded by its old value, is what keeps the count exact under retries. A new
	// published reply is inserted counted (Reply).
	Counted     bool      `bson:"counted" json:"-"`
	Lang        string    `bson:"lang,omitempty" json:"lang,omitempty"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at" json:"updated_at"`
	Version     int       `bson:"version" json:"-"`
	SearchDirty bool      `bson:"search_dirty" json:"-"`
}

// Ref names the post for moderation and flags: a thread's opening post stands for the thread.
func (p *Post) Ref() content.Ref {
	if p.Opening {
		return content.Ref{Kind: content.KindThread, ID: p.ParentID}
	}
	return content.Ref{Kind: content.KindPost, ID: p.ID}
}

// withoutHistory leaves out the edit history, which only the history itself needs.
var withoutHistory = options.FindOne().SetProjection(bson.M{"history": 0})

// Revision is an earlier version of an edited post (with the thread's title, for an
// opening post).
type Revision struct {
	Title  string    `bson:"title,omitempty"`
	BodyMD string    `bson:"body_md"`
	At     time.Time `bson:"at"`
	// Redacted: a moderator replaced this text (personal data, abuse), so only moderators
	// see it in the history. It is kept all the same: nothing is lost.
	Redacted bool `bson:"redacted,omitempty"`
}

// PostInput is a reply or comment.
type PostInput struct {
	Body    string `form:"body" json:"body"`
	QuoteOf string `form:"quote_of" json:"quote_of"` // the quoted post's ID, optional
	Lang    string `form:"-" json:"lang"`
}

// MaxBody is the longest post.
const MaxBody = 10000

func validBody(f *errs.Fields, body string) {
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		f.Add("body", "field.required")
	case n > MaxBody:
		f.Add("body", "field.too_long", "Max", MaxBody)
	}
}

// Errors of posting.
var (
	ErrPostNotFound = errs.New(errs.ErrNotFound, "post.not_found")
	ErrNotAuthor    = errs.New(errs.ErrForbidden, "post.not_author")
	ErrOwnPost      = errs.New(errs.ErrForbidden, "post.own_like")
)

// parent is what posting needs to know of a thread or idea.
type parent struct {
	Ref        content.Ref
	Title      string
	URL        string
	AuthorID   bson.ObjectID
	Status     Status
	Locked     bool
	LockReason string
	Category   string
	ProductID  bson.ObjectID
}

func (s *Service) parent(ctx context.Context, ref content.Ref) (*parent, error) {
	switch ref.Kind {
	case content.KindThread:
		t, err := s.Thread(ctx, ref.ID)
		if err != nil {
			return nil, err
		}
		return s.threadParent(ctx, t), nil
	case content.KindIdea:
		i, err := s.Idea(ctx, ref.ID)
		if err != nil {
			return nil, err
		}
		return ideaParent(i), nil
	}
	return nil, ErrPostNotFound
}

func (s *Service) threadParent(ctx context.Context, t *Thread) *parent {
	p := &parent{Ref: content.Ref{Kind: content.KindThread, ID: t.ID}, Title: t.Title, URL: t.URL(), AuthorID: t.AuthorID, Status: t.Status, Locked: t.Locked, LockReason: t.LockReason}
	if c, err := s.CategoryByID(ctx, t.CategoryID); err == nil {
		p.Category = c.Slug
	}
	return p
}

func ideaParent(i *Idea) *parent {
	p := &parent{Ref: content.Ref{Kind: content.KindIdea, ID: i.ID}, Title: i.Title, URL: i.URL(), AuthorID: i.AuthorID, Status: i.Status, ProductID: i.productID()}
	if i.MergedInto != nil || i.State.Closed() {
		p.Locked = true
	}
	return p
}

func (s *Service) parentCollection(kind content.Kind) *mongo.Collection {
	if kind == content.KindIdea {
		return s.ideas
	}
	return s.threads
}

// Reply adds a reply to a thread or a comment to an idea. A locked thread takes replies
// from staff only; the others are told why it is locked.
func (s *Service) Reply(ctx context.Context, author *customers.Customer, to content.Ref, in PostInput) (*Post, error) {
	par, err := s.parent(ctx, to)
	if err != nil {
		return nil, err
	}
	return s.reply(ctx, author, par, in)
}

// ReplyToThread is Reply to a thread the caller has just read (a request checks that its
// visitor may see it): the thread is not read again.
func (s *Service) ReplyToThread(ctx context.Context, author *customers.Customer, t *Thread, in PostInput) (*Post, error) {
	return s.reply(ctx, author, s.threadParent(ctx, t), in)
}

// CommentOnIdea is Reply to an idea the caller has just read.
func (s *Service) CommentOnIdea(ctx context.Context, author *customers.Customer, i *Idea, in PostInput) (*Post, error) {
	return s.reply(ctx, author, ideaParent(i), in)
}

func (s *Service) reply(ctx context.Context, author *customers.Customer, par *parent, in PostInput) (_ *Post, err error) {
	if err := suspended(author); err != nil {
		return nil, err
	}
	var f errs.Fields
	in.Body = strings.TrimSpace(in.Body)
	validBody(&f, in.Body)
	if err := f.Err(); err != nil {
		return nil, err
	}
	to := par.Ref
	if par.Status != content.StatusPublished {
		return nil, errs.New(errs.ErrConflict, "thread.not_open")
	}
	if par.Locked && !author.HasRole(customers.RoleModerator) {
		if to.Kind == content.KindIdea {
			return nil, errs.New(errs.ErrConflict, "idea.closed")
		}
		return nil, errs.New(errs.ErrConflict, "thread.locked", "Reason", par.LockReason)
	}
	now := content.Now(ctx, s.now)
	p := &Post{ID: bson.NewObjectID(), ParentKind: to.Kind, ParentID: to.ID, AuthorID: author.ID, BodyMD: in.Body,
		BodyHTML: s.md.HTML(in.Body), Lang: in.Lang, CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	if in.QuoteOf != "" {
		qid, err := bson.ObjectIDFromHex(in.QuoteOf)
		if err != nil {
			return nil, errs.Field("quote_of", "post.not_found")
		}
		quoted, err := s.Post(ctx, qid)
		if err != nil || quoted.ParentID != to.ID || quoted.Status != content.StatusPublished {
			return nil, errs.Field("quote_of", "post.not_found")
		}
		p.QuoteOf = &qid
	}
	sub := content.Submission{Ref: p.Ref(), Author: author.ID, ProductID: par.ProductID, Category: par.Category}.Titled("", in.Body)
	verdict, err := s.screen.Screen(ctx, sub)
	if err != nil {
		return nil, err
	}
	p.Status = verdict.Status
	// A published reply counts from its insert, and the parent's count follows: one write
	// fewer than turning its flag after. A moderator who hides it in between turns the flag
	// back and takes one off, so the count still meets; a crash in between leaves the mark,
	// and the repair recounts the parent.
	p.Counted = p.Status == content.StatusPublished
	end, err := s.inFlight.Begin(ctx, string(to.Kind), to.ID)
	if err != nil {
		return nil, err
	}
	followed := true // the follow-ups too: else the mark stays for the repair
	defer func() { end(err == nil && followed) }()
	if _, err := s.posts.InsertOne(ctx, p); err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	followed = store.FollowUp(ctx, "reply",
		func() error { return s.screen.Record(ctx, sub, verdict) },
		func() error {
			if !p.Counted {
				return nil
			}
			return s.countInParent(ctx, p, true, par)
		},
		func() error { return s.contributed(ctx, author.ID, "posts") })
	return p, nil
}

// afterPostChange brings what derives from a post into line with it: the parent's reply
// count and last activity, and the notifications of a newly published reply.
func (s *Service) afterPostChange(ctx context.Context, id bson.ObjectID) error {
	p, err := s.Post(ctx, id)
	if err != nil {
		return err
	}
	if _, err = s.countPost(ctx, p, nil); err != nil {
		return err
	}
	return s.rewardPost(ctx, p)
}

// rewardPost keeps a reply's points in step with whether it is shown: hidden or deleted,
// its likes and its accepted answer earn nothing; shown again, they earn again.
func (s *Service) rewardPost(ctx context.Context, p *Post) error {
	if s.rewarder == nil || p.Opening {
		return nil
	}
	shown := p.Status == content.StatusPublished
	if p.ParentKind == content.KindThread {
		// The answer's points, as Accept gives them: not for answering one's own question.
		if t, err := s.Thread(ctx, p.ParentID); err == nil && t.AcceptedPostID != nil && *t.AcceptedPostID == p.ID && t.AuthorID != p.AuthorID {
			s.reward(ctx, content.Reward{Member: p.AuthorID, Cause: content.CauseAnswer, Ref: p.ID.Hex(), Actor: t.AuthorID}, shown)
		}
	}
	if p.Likes == 0 && shown {
		return nil
	}
	likes, err := store.FindAll[PostLike](ctx, s.likes, bson.M{"post_id": p.ID})
	if err != nil {
		return err
	}
	for _, l := range likes {
		s.reward(ctx, content.Reward{Member: p.AuthorID, Cause: content.CauseLike, Ref: p.ID.Hex() + ":" + l.CustomerID.Hex(), Actor: l.CustomerID}, shown)
	}
	return nil
}

// countPost makes a post count in its parent's replies when it is a published reply, and
// not otherwise, and says whether it counts. p is the post as last read (a new post as just
// written), par its parent if known (for the notifications). The count moves only if the
// post's own flag could be turned, so two changes at once move it once; a post changed
// under us is read again.
func (s *Service) countPost(ctx context.Context, p *Post, par *parent) (bool, error) {
	for range 5 {
		want := p.Status == content.StatusPublished && !p.Opening
		if want == p.Counted {
			return want, nil
		}
		res, err := s.posts.UpdateOne(ctx, bson.M{"_id": p.ID, "counted": p.Counted, "status": p.Status},
			bson.M{"$set": bson.M{"counted": want}})
		if err != nil {
			return false, fmt.Errorf("count reply: %w", err)
		}
		if res.ModifiedCount == 0 {
			// changed under us: look again
			if p, err = s.Post(ctx, p.ID); err != nil {
				return false, err
			}
			continue
		}
		return want, s.countInParent(ctx, p, want, par)
	}
	return false, ErrConflict
}

// countInParent adds a reply whose flag was just turned on to its parent's count, its last
// activity and the notifications, or takes one whose flag was turned off out of the count.
func (s *Service) countInParent(ctx context.Context, p *Post, counted bool, par *parent) error {
	update := bson.M{"$inc": bson.M{"reply_count": -1}}
	if counted {
		update = bson.M{"$inc": bson.M{"reply_count": 1}, "$set": bson.M{"last_post_at": s.now(), "last_poster_id": p.AuthorID}}
	}
	if _, err := s.parentCollection(p.ParentKind).UpdateOne(ctx, bson.M{"_id": p.ParentID}, update); err != nil {
		return fmt.Errorf("count reply: %w", err)
	}
	if counted {
		return s.notifyReply(ctx, p, par)
	}
	return nil
}

// EditInput is the edit form of a post; Title and Tags apply to a thread's opening post.
type EditInput struct {
	Title string   `form:"title" json:"title"`
	Tags  []string `form:"tags" json:"tags"`
	Body  string   `form:"body" json:"body"`
}

// EditPost changes a post's text, keeping the earlier version: its author may, and so may
// a moderator. The author's edit is screened again and may go back to the queue.
func (s *Service) EditPost(ctx context.Context, editor *customers.Customer, id bson.ObjectID, in EditInput) (_ *Post, err error) {
	if err := suspended(editor); err != nil {
		return nil, err
	}
	p, err := s.Post(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.AuthorID != editor.ID && !editor.HasRole(customers.RoleModerator) {
		return nil, ErrNotAuthor
	}
	if p.Status == content.StatusDeleted {
		return nil, ErrPostNotFound
	}
	var f errs.Fields
	in.Body = strings.TrimSpace(in.Body)
	var t *Thread
	if p.Opening {
		if t, err = s.Thread(ctx, p.ParentID); err != nil {
			return nil, err
		}
		in.Title, in.Tags = strings.TrimSpace(in.Title), normalizeTags(in.Tags)
		validTitle(&f, in.Title)
		validTags(&f, in.Tags)
	}
	validBody(&f, in.Body)
	if err := f.Err(); err != nil {
		return nil, err
	}
	par, err := s.parent(ctx, content.Ref{Kind: p.ParentKind, ID: p.ParentID})
	if err != nil {
		return nil, err
	}
	sub := content.Submission{Ref: p.Ref(), Author: p.AuthorID, ProductID: par.ProductID,
		Category: par.Category}.Titled(in.Title, in.Body)
	status, verdict := p.Status, content.Verdict{Status: content.StatusPublished}
	if editor.ID == p.AuthorID {
		if verdict, err = s.screen.Screen(ctx, sub); err != nil {
			return nil, err
		}
		if p.Status == content.StatusPublished && verdict.Status == content.StatusPending {
			status = content.StatusPending
		}
	}
	end, err := s.inFlight.Begin(ctx, string(p.ParentKind), p.ParentID)
	if err != nil {
		return nil, err
	}
	defer func() { end(err == nil) }()
	now := s.now()
	prev := Revision{BodyMD: p.BodyMD, At: p.UpdatedAt, Redacted: editor.ID != p.AuthorID}
	if t != nil {
		prev.Title = t.Title
	}
	var out Post
	err = s.posts.FindOneAndUpdate(ctx, bson.M{"_id": id, "version": p.Version}, bson.M{
		"$set":  bson.M{"body_md": in.Body, "body_html": s.md.HTML(in.Body), "status": status, "edited_at": now, "updated_at": now, "search_dirty": true},
		"$push": bson.M{"history": prev},
		"$inc":  bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, fmt.Errorf("edit post: %w", err)
	}
	if t != nil {
		set := bson.M{"title": in.Title, "tags": in.Tags, "status": status, "updated_at": now, "search_dirty": true}
		if _, err := s.threads.UpdateOne(ctx, bson.M{"_id": t.ID}, bson.M{"$set": set, "$inc": bson.M{"version": 1}}); err != nil {
			return nil, fmt.Errorf("edit thread: %w", err)
		}
	}
	if status == content.StatusPending && p.Status != content.StatusPending {
		verdict.Status = content.StatusPending
	}
	if err := s.screen.Record(ctx, sub, verdict); err != nil {
		return nil, err
	}
	return &out, s.afterPostChange(ctx, id)
}

// DeletePost deletes a post softly: its author may, and so may a moderator. Deleting a
// thread's opening post deletes the thread.
func (s *Service) DeletePost(ctx context.Context, by *customers.Customer, id bson.ObjectID) (*Post, error) {
	p, err := s.Post(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.AuthorID != by.ID && !by.HasRole(customers.RoleModerator) {
		return nil, ErrNotAuthor
	}
	if p.Opening {
		_, err = s.SetThreadStatus(ctx, p.ParentID, content.StatusDeleted, "")
	} else {
		_, err = s.SetPostStatus(ctx, id, content.StatusDeleted, "")
	}
	return p, err
}

// SetPostStatus moves a reply or comment between pending, published, hidden and deleted
// (moderation uses it, with the reason the author is shown). It returns the status before.
func (s *Service) SetPostStatus(ctx context.Context, id bson.ObjectID, status Status, reason string) (_ Status, err error) {
	p, err := s.Post(ctx, id)
	if err != nil {
		return "", err
	}
	end, err := s.inFlight.Begin(ctx, string(p.ParentKind), p.ParentID)
	if err != nil {
		return "", err
	}
	defer func() { end(err == nil) }()
	before, err := s.setPostStatus(ctx, bson.M{"_id": id}, status, reason)
	if err != nil {
		return "", err
	}
	return before, s.afterPostChange(ctx, id)
}

func (s *Service) setPostStatus(ctx context.Context, filter bson.M, status Status, reason string) (Status, error) {
	set := bson.M{"status": status, "updated_at": s.now(), "search_dirty": true}
	if reason != "" || status == content.StatusPublished {
		set["moderation_reason"] = reason
	}
	var before Post
	err := s.posts.FindOneAndUpdate(ctx, filter, bson.M{"$set": set, "$inc": bson.M{"version": 1}}).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrPostNotFound
	}
	if err != nil {
		return "", fmt.Errorf("post status: %w", err)
	}
	return before.Status, nil
}

// PostURL is where a post is read: its place in its thread or idea.
func (s *Service) PostURL(ctx context.Context, id bson.ObjectID) (string, error) {
	p, err := s.Post(ctx, id)
	if err != nil {
		return "", err
	}
	par, err := s.parent(ctx, content.Ref{Kind: p.ParentKind, ID: p.ParentID})
	if err != nil {
		return "", err
	}
	return par.URL + "#post-" + p.ID.Hex(), nil
}

// Post returns one post, without its edit history (which only grows).
func (s *Service) Post(ctx context.Context, id bson.ObjectID) (*Post, error) {
	return store.FindOne[Post](ctx, s.posts, bson.M{"_id": id}, ErrPostNotFound, withoutHistory)
}

// PostWithHistory returns a post with its earlier versions, oldest first.
func (s *Service) PostWithHistory(ctx context.Context, id bson.ObjectID) (*Post, error) {
	return store.FindOne[Post](ctx, s.posts, bson.M{"_id": id}, ErrPostNotFound)
}

// PostsByID returns some posts (quoted ones, an accepted answer) in one query.
func (s *Service) PostsByID(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*Post, error) {
	out := map[bson.ObjectID]*Post{}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) <= 2 {
		// A page asks for one or two (a thread's opening post and accepted answer): an _id
		// lookup each is cheaper on the embedded FerretDB, which takes _id equality to SQLite's
		// primary key but reads the whole collection for $in (3.5 ms against 28 ms at 200 posts).
		for _, id := range ids {
			p, err := s.Post(ctx, id)
			if errors.Is(err, ErrPostNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[id] = p
		}
		return out, nil
	}
	list, err := store.FindAll[Post](ctx, s.posts, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		out[p.ID] = p
	}
	return out, nil
}

// OpeningPost returns a thread's first post.
func (s *Service) OpeningPost(ctx context.Context, thread bson.ObjectID) (*Post, error) {
	t, err := s.Thread(ctx, thread)
	if err != nil {
		return nil, err
	}
	return s.Post(ctx, t.OpeningPostID)
}

// PostQuery selects a page of a thread's replies or an idea's comments, oldest first.
type PostQuery struct {
	Parent bson.ObjectID
	Viewer bson.ObjectID // also shows the viewer's own posts waiting for a moderator
	After  string        // the last post of the previous page
	Limit  int
}

// Posts lists replies a page at a time by key: the next page starts after the last post of
// this one, so posts arriving in between are neither repeated nor skipped.
func (s *Service) Posts(ctx context.Context, q PostQuery) ([]*Post, string, error) {
	limit := store.Limit(q.Limit, 20, 100)
	visible := bson.A{bson.M{"status": content.StatusPublished}}
	if !q.Viewer.IsZero() {
		visible = append(visible, bson.M{"status": content.StatusPending, "author_id": q.Viewer})
	}
	filter := bson.M{"parent_id": q.Parent, "opening": false, "$or": visible}
	if q.After != "" {
		after, err := bson.ObjectIDFromHex(q.After)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		filter["_id"] = bson.M{"$gt": after}
	}
	list, err := store.FindAll[Post](ctx, s.posts, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetLimit(int64(limit+1)).SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, "", err
	}
	list, next := store.TrimPage(list, limit, func(p *Post) string { return p.ID.Hex() })
	return list, next, nil
}

// PostLike is one customer's like of one post.
type PostLike struct {
	ID         bson.ObjectID `bson:"_id"`
	PostID     bson.ObjectID `bson:"post_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	At         time.Time     `bson:"at"`
}

// Like sets whether a customer likes a post (like true or false: the same request twice
// changes nothing). The count moves only when the like document was inserted or deleted,
// so it stays exact under retries.
func (s *Service) Like(ctx context.Context, who *customers.Customer, id bson.ObjectID, like bool) (_ *Post, err error) {
	if err := suspended(who); err != nil {
		return nil, err
	}
	p, err := s.Post(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != content.StatusPublished {
		return nil, ErrPostNotFound
	}
	if par, err := s.parent(ctx, content.Ref{Kind: p.ParentKind, ID: p.ParentID}); err != nil || par.Status != content.StatusPublished {
		return nil, ErrPostNotFound // in a thread or idea nobody may see
	}
	if p.AuthorID == who.ID {
		return nil, ErrOwnPost
	}
	end, err := s.inFlight.Begin(ctx, markLikes, id)
	if err != nil {
		return nil, err
	}
	defer func() { end(err == nil) }()
	delta, err := store.SetMark(ctx, s.likes, bson.M{"post_id": id, "customer_id": who.ID},
		PostLike{ID: bson.NewObjectID(), PostID: id, CustomerID: who.ID, At: s.now()}, like)
	if err != nil {
		return nil, err
	}
	s.reward(ctx, content.Reward{Member: p.AuthorID, Cause: content.CauseLike, Ref: p.ID.Hex() + ":" + who.ID.Hex(), Actor: who.ID,
		ActorSince: who.CreatedAt}, like)
	if delta == 0 {
		return p, nil // liked (or not) already: a retry
	}
	var out Post
	err = s.posts.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"likes": delta}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, fmt.Errorf("count like: %w", err)
	}
	out.History = nil // as Post reads it
	return &out, nil
}

// LikedBy says which of some posts a customer likes, in one query.
func (s *Service) LikedBy(ctx context.Context, who bson.ObjectID, posts []*Post) (map[bson.ObjectID]bool, error) {
	ids := make([]bson.ObjectID, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	return store.Marked(ctx, s.likes, who, "post_id", ids)
}
