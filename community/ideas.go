package community

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"slices"
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

// IdeaState is where an idea is on the way to the product. (Status, as on all user content,
// is whether it is published; the API calls this one "status" and that one
// "moderation_status".)
type IdeaState string

const (
	StateOpen        IdeaState = "open"
	StateUnderReview IdeaState = "under_review"
	StatePlanned     IdeaState = "planned"
	StateInProgress  IdeaState = "in_progress"
	StateDone        IdeaState = "done"
	StateDeclined    IdeaState = "declined"
)

// IdeaStates lists the states in their order on the way to the product.
var IdeaStates = []IdeaState{StateOpen, StateUnderReview, StatePlanned, StateInProgress, StateDone, StateDeclined}

// RoadmapStates are the columns of the public roadmap.
var RoadmapStates = []IdeaState{StateUnderReview, StatePlanned, StateInProgress, StateDone}

// OnRoadmap reports whether an idea in this state is shown on the public roadmap.
func (st IdeaState) OnRoadmap() bool { return slices.Contains(RoadmapStates, st) }

// Closed reports whether an idea in this state takes no more votes or comments.
func (st IdeaState) Closed() bool { return st == StateDone || st == StateDeclined }

func validState(st IdeaState) bool {
	for _, v := range IdeaStates {
		if v == st {
			return true
		}
	}
	return false
}

// Idea is a customer's proposal for the product.
type Idea struct {
	ID           bson.ObjectID  `bson:"_id" json:"id"`
	Title        string         `bson:"title" json:"title"`
	Slug         string         `bson:"slug" json:"slug"`
	BodyMD       string         `bson:"body_md" json:"body"`
	BodyHTML     template.HTML  `bson:"body_html" json:"body_html"`
	ProductID    *bson.ObjectID `bson:"product_id,omitempty" json:"product_id,omitempty"`
	AuthorID     bson.ObjectID  `bson:"author_id" json:"author_id"`
	State        IdeaState      `bson:"state" json:"status"`
	Response     string         `bson:"response,omitempty" json:"response,omitempty"`
	ResponseHTML template.HTML  `bson:"response_html,omitempty" json:"-"`
	RespondedAt  *time.Time     `bson:"responded_at,omitempty" json:"responded_at,omitempty"`
	RespondedBy  *bson.ObjectID `bson:"responded_by,omitempty" json:"-"`
	VoteCount    int            `bson:"vote_count" json:"vote_count"`
	// TrendVotes counts the votes cast within TrendingWindow: +1 with each vote, -1 when it
	// is withdrawn or leaves the window (expireTrending), so trending is an indexed sort.
	TrendVotes int            `bson:"trend_votes" json:"-"`
	ReplyCount int            `bson:"reply_count" json:"comment_count"`
	MergedInto *bson.ObjectID `bson:"merged_into,omitempty" json:"merged_into,omitempty"`
	// NotifyKey names a change of state whose voters are still being told; a call that
	// finds it finishes telling them (the key keeps anyone from hearing twice).
	NotifyKey        string     `bson:"notify_key,omitempty" json:"-"`
	Status           Status     `bson:"status" json:"moderation_status"`
	ModerationReason string     `bson:"moderation_reason,omitempty" json:"-"`
	History          []Revision `bson:"history,omitempty" json:"-"`
	EditedAt         *time.Time `bson:"edited_at,omitempty" json:"edited_at,omitempty"`
	Lang             string     `bson:"lang,omitempty" json:"lang,omitempty"`
	CreatedAt        time.Time  `bson:"created_at" json:"created_at"`
	UpdatedAt        time.Time  `bson:"updated_at" json:"updated_at"`
	Version          int        `bson:"version" json:"-"`
	SearchDirty      bool       `bson:"search_dirty" json:"-"`
	// Voters sums up the voters (their value, risk and stages) for product staff's list and
	// sort; never given out (json "-", and left out of a member's download).
	Voters Voters `bson:"voters" json:"-"`
}

// URL is the idea's readable address: /ideas/{slug}-{id}.
func (i *Idea) URL() string { return "/ideas/" + slugID(i.Slug, i.ID) }

func (i *Idea) productID() bson.ObjectID {
	if i.ProductID == nil {
		return bson.ObjectID{}
	}
	return *i.ProductID
}

// IdeaInput is the idea form and the API's idea. The handler turns a product slug into
// ProductID.
type IdeaInput struct {
	Title     string        `form:"title" json:"title"`
	Body      string        `form:"body" json:"body"`
	ProductID bson.ObjectID `form:"-" json:"-"`
	Lang      string        `form:"-" json:"lang"`
}

// Validate checks an idea.
func (in *IdeaInput) Validate() error {
	var f errs.Fields
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	validTitle(&f, in.Title)
	validBody(&f, in.Body)
	return f.Err()
}

// Errors of ideas.
var (
	ErrIdeaNotFound = errs.New(errs.ErrNotFound, "idea.not_found")
	ErrIdeaClosed   = errs.New(errs.ErrConflict, "idea.closed")
)

func (in IdeaInput) submission(id, author bson.ObjectID) content.Submission {
	return content.Submission{Ref: content.Ref{Kind: content.KindIdea, ID: id}, Author: author,
		ProductID: in.ProductID}.Titled(in.Title, in.Body)
}

// CreateIdea submits an idea. Its author votes for it at once, as on Fider: the first
// supporter of an idea is the one who had it.
func (s *Service) CreateIdea(ctx context.Context, author *customers.Customer, in IdeaInput) (*Idea, error) {
	if err := suspended(author); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := content.Now(ctx, s.now)
	idea := &Idea{ID: bson.NewObjectID(), Title: in.Title, Slug: content.Slugify(in.Title), BodyMD: in.Body, BodyHTML: s.md.HTML(in.Body),
		AuthorID: author.ID, State: StateOpen, Lang: in.Lang, CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	if !in.ProductID.IsZero() {
		idea.ProductID = &in.ProductID
	}
	sub := in.submission(idea.ID, author.ID)
	verdict, err := s.screen.Screen(ctx, sub)
	if err != nil {
		return nil, err
	}
	idea.Status = verdict.Status
	if _, err := s.ideas.InsertOne(ctx, idea); err != nil {
		return nil, fmt.Errorf("create idea: %w", err)
	}
	store.FollowUp(ctx, "create idea",
		func() error { return s.screen.Record(ctx, sub, verdict) },
		func() error { return s.contributed(ctx, author.ID, "ideas") },
		func() error {
			_, err := s.vote(ctx, idea.ID, author.ID, true, nil)
			return err
		},
		func() error {
			_, _, err := s.refreshVoters(ctx, idea.ID)
			return err
		})
	if counted, err := s.Idea(ctx, idea.ID); err == nil {
		return counted, nil
	}
	return idea, nil // stored; what it shows now is its state before the follow-ups
}

// EditIdea changes an idea's text, keeping the earlier version: its author may, and so
// may a moderator or product staff.
func (s *Service) EditIdea(ctx context.Context, editor *customers.Customer, id bson.ObjectID, in IdeaInput) (*Idea, error) {
	if err := suspended(editor); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	idea, err := s.Idea(ctx, id)
	if err != nil {
		return nil, err
	}
	if idea.AuthorID != editor.ID && !editor.HasAnyRole(customers.RoleModerator, customers.RoleProduct) {
		return nil, ErrNotAuthor
	}
	if idea.Status == content.StatusDeleted {
		return nil, ErrIdeaNotFound
	}
	sub := in.submission(id, idea.AuthorID)
	status, verdict := idea.Status, content.Verdict{Status: content.StatusPublished}
	if editor.ID == idea.AuthorID {
		if verdict, err = s.screen.Screen(ctx, sub); err != nil {
			return nil, err
		}
		if idea.Status == content.StatusPublished && verdict.Status == content.StatusPending {
			status = content.StatusPending
		}
	}
	now := s.now()
	set := bson.M{"title": in.Title, "body_md": in.Body, "body_html": s.md.HTML(in.Body), "status": status,
		"edited_at": now, "updated_at": now, "search_dirty": true}
	if !in.ProductID.IsZero() {
		set["product_id"] = in.ProductID
	}
	var out Idea
	err = s.ideas.FindOneAndUpdate(ctx, bson.M{"_id": id, "version": idea.Version}, bson.M{
		"$set": set, "$push": bson.M{"history": Revision{Title: idea.Title, BodyMD: idea.BodyMD, At: idea.UpdatedAt, Redacted: editor.ID != idea.AuthorID}},
		"$inc": bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, fmt.Errorf("edit idea: %w", err)
	}
	if status == content.StatusPending && idea.Status != content.StatusPending {
		verdict.Status = content.StatusPending
	}
	return &out, s.screen.Record(ctx, sub, verdict)
}

// Idea returns one idea.
func (s *Service) Idea(ctx context.Context, id bson.ObjectID) (*Idea, error) {
	return store.FindOne[Idea](ctx, s.ideas, bson.M{"_id": id}, ErrIdeaNotFound, withoutHistory)
}

// IdeaBy finds a customer's idea by its title (for loading content once).
func (s *Service) IdeaBy(ctx context.Context, author bson.ObjectID, title string) (*Idea, error) {
	return store.FindOne[Idea](ctx, s.ideas, bson.M{"author_id": author, "title": title}, ErrIdeaNotFound)
}

// IdeasByID returns some ideas in one query.
func (s *Service) IdeasByID(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*Idea, error) {
	out := map[bson.ObjectID]*Idea{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := s.findIdeas(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find())
	for _, i := range list {
		out[i.ID] = i
	}
	return out, err
}

// SetIdeaStatus moves an idea between pending, published, hidden and deleted
// (moderation). It returns the status before.
func (s *Service) SetIdeaStatus(ctx context.Context, id bson.ObjectID, status Status, reason string) (Status, error) {
	set := bson.M{"status": status, "updated_at": s.now(), "search_dirty": true}
	if reason != "" || status == content.StatusPublished {
		set["moderation_reason"] = reason
	}
	var before Idea
	err := s.ideas.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": set, "$inc": bson.M{"version": 1}}).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrIdeaNotFound
	}
	if err != nil {
		return "", fmt.Errorf("idea status: %w", err)
	}
	// Its comments' search documents follow the idea's visibility.
	if _, err := s.posts.UpdateMany(ctx, bson.M{"parent_id": id}, bson.M{"$set": bson.M{"search_dirty": true}, "$inc": bson.M{"version": 1}}); err != nil {
		return "", fmt.Errorf("idea status: %w", err)
	}
	if now, err := s.Idea(ctx, id); err == nil {
		s.rewardState(ctx, now)
	}
	return before.Status, nil
}

// DeleteIdea deletes an idea softly: its author or a moderator may.
func (s *Service) DeleteIdea(ctx context.Context, by *customers.Customer, id bson.ObjectID) error {
	idea, err := s.Idea(ctx, id)
	if err != nil {
		return err
	}
	if idea.AuthorID != by.ID && !by.HasRole(customers.RoleModerator) {
		return ErrNotAuthor
	}
	_, err = s.SetIdeaStatus(ctx, id, content.StatusDeleted, "")
	return err
}

// IdeaVote is one customer's vote for one idea.
type IdeaVote struct {
	ID         bson.ObjectID `bson:"_id"`
	IdeaID     bson.ObjectID `bson:"idea_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	At         time.Time     `bson:"at"`
	// InWindow: the vote is counted in its idea's TrendVotes; cleared, exactly once, when
	// the vote leaves the trending window.
	InWindow bool `bson:"in_window,omitempty"`
	// CountedBy is the member of staff who counted the customer as a voter (a follow-up).
	CountedBy bson.ObjectID `bson:"counted_by,omitempty"`
}

// Vote sets whether a customer votes for an idea (vote true or false, so the same request
// twice changes nothing). The count moves only when the vote document was inserted or
// deleted. A merged idea's votes belong to the idea it was merged into. voter is the
// member's record as the request read it: what it is worth moves the idea's summary.
func (s *Service) Vote(ctx context.Context, voter *customers.Customer, id bson.ObjectID, vote bool) (*Idea, error) {
	idea, err := s.Idea(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.VoteOn(ctx, voter, idea, vote)
}

// VoteOn is Vote on an idea the caller has just read (a request checks that its visitor
// may see it): the idea is not read again.
func (s *Service) VoteOn(ctx context.Context, voter *customers.Customer, idea *Idea, vote bool) (*Idea, error) {
	if err := suspended(voter); err != nil {
		return nil, err
	}
	if err := s.votable(ctx, idea); err != nil {
		return nil, err
	}
	id := idea.ID
	// The voter's share of the summary moves with the count, in the same write, when the
	// idea has a summary to move: one write instead of summing every voter again.
	var share *customers.Customer
	if !idea.Voters.At.IsZero() && idea.Voters.Currency == s.customers.Currency() {
		share = voter
	}
	counted, err := s.vote(ctx, id, voter.ID, vote, share)
	if share != nil && counted != nil {
		if err == nil && vote {
			// Like the summary's refresh: the vote stands whatever happens to this (the hourly
			// refresh puts it right).
			store.FollowUp(ctx, "vote", func() error { return s.reshare(ctx, id, share) })
		}
		return counted, err
	}
	return s.afterVote(ctx, idea, counted, err)
}

// voterShare is what a voter adds to (sign 1) or takes from (-1) an idea's stored summary,
// as $inc operands.
func (s *Service) voterShare(c *customers.Customer, sign int64) bson.M {
	inc := bson.M{}
	if c.Value.Currency == s.customers.Currency() && c.Value.CLTV != 0 {
		inc["voters.value"] = sign * c.Value.CLTV
	}
	if c.Risk.AtRisk() {
		inc["voters.at_risk"] = sign
	}
	if c.Stage != "" {
		inc["voters.stages."+string(c.Stage)] = sign
	}
	return inc
}

// reshare counts a new voter in the idea's summary as they stand after their vote: a first
// contribution moves a member on (to exploration, off the at-risk list), and the summary
// counted them as they were before it. One read, and a write only when they moved.
func (s *Service) reshare(ctx context.Context, idea bson.ObjectID, before *customers.Customer) error {
	after, err := s.customers.Get(ctx, before.ID)
	if err != nil {
		return err
	}
	inc := s.voterShare(after, 1)
	for k, v := range s.voterShare(before, -1) {
		n, _ := inc[k].(int64)
		if n += v.(int64); n == 0 {
			delete(inc, k)
		} else {
			inc[k] = n
		}
	}
	if len(inc) == 0 {
		return nil
	}
	if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": idea}, bson.M{"$inc": inc}); err != nil {
		return fmt.Errorf("voters of idea %s: %w", idea.Hex(), err)
	}
	return nil
}

// CountAsVoter counts a customer as a voter for an idea their feedback is about, on staff's
// word (a follow-up): a vote like theirs, marked as counted by staff, that neither counts as
// their contribution nor makes them active.
func (s *Service) CountAsVoter(ctx context.Context, customer, id, staff bson.ObjectID) (*Idea, error) {
	idea, err := s.Idea(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.votable(ctx, idea); err != nil {
		return nil, err
	}
	counted, _, err := s.markVote(ctx, id, customer, s.now(), true, staff, nil)
	return s.afterVote(ctx, idea, counted, err)
}

// votable says whether an idea takes votes: published, not merged, not closed.
func (s *Service) votable(ctx context.Context, idea *Idea) error {
	if idea.Status != content.StatusPublished {
		return ErrIdeaNotFound
	}
	if idea.MergedInto != nil {
		target, err := s.Idea(ctx, *idea.MergedInto)
		if err != nil {
			return err
		}
		return &errs.Error{Kind: errs.ErrConflict, Message: errs.Message{ID: "idea.merged"}, Link: target.URL()}
	}
	if idea.State.Closed() {
		return ErrIdeaClosed
	}
	return nil
}

// afterVote brings the voters' summary up to date after a vote and says what the idea is now.
func (s *Service) afterVote(ctx context.Context, idea, counted *Idea, err error) (*Idea, error) {
	id := idea.ID
	if counted != nil || err == nil {
		// The voters' summary follows the vote; the vote stands whatever happens to it (the
		// hourly refresh puts it right).
		store.FollowUp(ctx, "vote", func() error {
			v, stored, err := s.refreshVoters(ctx, id)
			if stored && counted != nil {
				counted.Voters = v
			}
			return err
		})
	}
	if err != nil || counted != nil {
		return counted, err
	}
	return idea, nil // voted so already: a retry
}

// vote sets or withdraws a customer's vote; the idea's count and the customer's record
// move only when the vote document did.
// It returns the idea as counted, or nil when nothing moved (a retry). share is as for
// markVote.
func (s *Service) vote(ctx context.Context, idea, voter bson.ObjectID, on bool, share *customers.Customer) (*Idea, error) {
	counted, moved, err := s.markVote(ctx, idea, voter, content.Now(ctx, s.now), on, bson.ObjectID{}, share)
	switch {
	case err != nil:
		return nil, err
	case moved > 0:
		return counted, s.contributed(ctx, voter, "votes")
	case moved < 0:
		return counted, s.withdrawn(ctx, voter, "votes")
	}
	return nil, nil
}

// by is the member of staff who counted the vote, if it was not the voter's own. share, if
// not nil, is the voter's record, whose value, risk and stage the idea's stored summary
// (Voters) gains or loses with the count.
func (s *Service) markVote(ctx context.Context, idea, voter bson.ObjectID, at time.Time, on bool, by bson.ObjectID, share *customers.Customer) (_ *Idea, _ int, err error) {
	end, err := s.inFlight.Begin(ctx, string(content.KindIdea), idea)
	if err != nil {
		return nil, 0, err
	}
	defer func() { end(err == nil) }()
	inc := bson.M{}
	if on {
		_, err := s.votes.InsertOne(ctx, IdeaVote{ID: bson.NewObjectID(), IdeaID: idea, CustomerID: voter, At: at, InWindow: true, CountedBy: by})
		if mongo.IsDuplicateKeyError(err) {
			return nil, 0, nil // voted already: a retry
		}
		if err != nil {
			return nil, 0, fmt.Errorf("vote: %w", err)
		}
		inc["vote_count"], inc["trend_votes"] = 1, 1
	} else {
		var gone IdeaVote
		err := s.votes.FindOneAndDelete(ctx, bson.M{"idea_id": idea, "customer_id": voter}).Decode(&gone)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, 0, nil // not voted: a retry
		}
		if err != nil {
			return nil, 0, fmt.Errorf("withdraw vote: %w", err)
		}
		inc["vote_count"] = -1
		if gone.InWindow {
			inc["trend_votes"] = -1
		}
	}
	if share != nil {
		maps.Copy(inc, s.voterShare(share, int64(inc["vote_count"].(int))))
	}
	var counted Idea
	err = s.ideas.FindOneAndUpdate(ctx, bson.M{"_id": idea}, bson.M{"$inc": inc}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&counted)
	if err != nil {
		return nil, 0, fmt.Errorf("count vote: %w", err)
	}
	return &counted, inc["vote_count"].(int), nil
}

// expireTrending takes the votes that have left the trending window out of their ideas'
// TrendVotes. Each vote is taken out once, whoever runs this at the same time; an index on
// (in_window, at) makes it one seek that finds nothing when nothing is due.
func (s *Service) expireTrending(ctx context.Context) error {
	cutoff := s.now().Add(-TrendingWindow)
	for {
		due, err := store.FindAll[IdeaVote](ctx, s.votes, bson.M{"in_window": true, "at": bson.M{"$lt": cutoff}},
			options.Find().SetLimit(500))
		if err != nil || len(due) == 0 {
			return err
		}
		for _, v := range due {
			if err := s.leaveTrending(ctx, v); err != nil {
				return err
			}
		}
	}
}

// leaveTrending takes one vote out of its idea's trending count, once.
func (s *Service) leaveTrending(ctx context.Context, v *IdeaVote) (err error) {
	end, err := s.inFlight.Begin(ctx, string(content.KindIdea), v.IdeaID)
	if err != nil {
		return err
	}
	defer func() { end(err == nil) }()
	res, err := s.votes.UpdateOne(ctx, bson.M{"_id": v.ID, "in_window": true}, bson.M{"$unset": bson.M{"in_window": ""}})
	if err != nil || res.ModifiedCount == 0 {
		return err // or taken out by another caller
	}
	if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": v.IdeaID}, bson.M{"$inc": bson.M{"trend_votes": -1}}); err != nil {
		return fmt.Errorf("trending: %w", err)
	}
	return nil
}

// VotedFor says which of some ideas a customer voted for, in one query.
func (s *Service) VotedFor(ctx context.Context, who bson.ObjectID, ideas []*Idea) (map[bson.ObjectID]bool, error) {
	ids := make([]bson.ObjectID, len(ideas))
	for i, idea := range ideas {
		ids[i] = idea.ID
	}
	return store.Marked(ctx, s.votes, who, "idea_id", ids)
}

// StatusInput is product staff's decision on an idea.
type StatusInput struct {
	Status   IdeaState `form:"status" json:"status"`
	Response string    `form:"response" json:"response"`
}

// SetState moves an idea along the way to the product, with a public response. Every
// voter is told of a change of state, once per change however often it is retried.
func (s *Service) SetState(ctx context.Context, staff *customers.Customer, id bson.ObjectID, in StatusInput) (*Idea, error) {
	if !staff.HasRole(customers.RoleProduct) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	var f errs.Fields
	in.Response = strings.TrimSpace(in.Response)
	if !validState(in.Status) {
		f.Add("status", "idea.bad_status")
	}
	if utf8.RuneCountInString(in.Response) > 2000 {
		f.Add("response", "field.too_long", "Max", 2000)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	before, err := s.Idea(ctx, id)
	if err != nil {
		return nil, err
	}
	if before.Status != content.StatusPublished {
		return nil, ErrIdeaNotFound // nobody may see it, so nobody is told of it
	}
	if before.MergedInto != nil {
		return nil, errs.New(errs.ErrConflict, "idea.merged")
	}
	now := s.now()
	set := bson.M{"state": in.Status, "response": in.Response, "response_html": s.md.HTML(in.Response),
		"responded_at": now, "responded_by": staff.ID, "updated_at": now, "search_dirty": true}
	if before.State != in.Status {
		// The key names this change (the idea's version after it).
		set["notify_key"] = fmt.Sprintf("status:%s:%d", id.Hex(), before.Version+1)
	}
	var out Idea
	// Guarded by the version read, so of two identical decisions at once one is recorded
	// (and notified); the other finds it done.
	err = s.ideas.FindOneAndUpdate(ctx, bson.M{"_id": id, "version": before.Version}, bson.M{
		"$set": set, "$inc": bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if now, err := s.Idea(ctx, id); err == nil && now.State == in.Status && now.Response == in.Response {
			s.rewardState(ctx, now)
			return now, s.tellVoters(ctx, now, staff.ID)
		}
		return nil, ErrConflict
	}
	if err != nil {
		return nil, fmt.Errorf("idea status: %w", err)
	}
	s.rewardState(ctx, &out)
	return &out, s.tellVoters(ctx, &out, staff.ID)
}

// rewardState gives an idea's author points while it is planned (or further) and shipped,
// and takes them back if it moves back.
func (s *Service) rewardState(ctx context.Context, i *Idea) {
	r := content.Reward{Member: i.AuthorID, Ref: i.ID.Hex(), Product: i.productID()}
	shown := i.Status == content.StatusPublished
	r.Cause = content.CauseIdeaPlanned
	s.reward(ctx, r, shown && (i.State == StatePlanned || i.State == StateInProgress || i.State == StateDone))
	r.Cause = content.CauseIdeaShipped
	s.reward(ctx, r, shown && i.State == StateDone)
}

// tellVoters tells every voter of an idea about its pending change of state, if any, then
// clears it. Interrupted, the next decision on the idea finishes it.
func (s *Service) tellVoters(ctx context.Context, idea *Idea, actor bson.ObjectID) error {
	if idea.NotifyKey == "" {
		return nil
	}
	err := s.forVoters(ctx, idea.ID, func(voters []bson.ObjectID) error {
		list := make([]Notification, 0, len(voters))
		for _, v := range voters {
			if v != actor {
				list = append(list, Notification{CustomerID: v, Kind: NotifyIdeaStatus, ActorID: actor, Title: idea.Title,
					URL: idea.URL(), State: idea.State, Key: idea.NotifyKey})
			}
		}
		return s.notify(ctx, list...)
	})
	if err != nil {
		return err
	}
	if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": idea.ID, "notify_key": idea.NotifyKey}, bson.M{"$unset": bson.M{"notify_key": ""}}); err != nil {
		return fmt.Errorf("idea status: %w", err)
	}
	return nil
}

// forVoters walks an idea's voters in batches.
func (s *Service) forVoters(ctx context.Context, idea bson.ObjectID, fn func([]bson.ObjectID) error) error {
	var after bson.ObjectID
	for {
		filter := bson.M{"idea_id": idea}
		if !after.IsZero() {
			filter["customer_id"] = bson.M{"$gt": after}
		}
		list, err := store.FindAll[IdeaVote](ctx, s.votes, filter, options.Find().SetSort(bson.D{{Key: "customer_id", Value: 1}}).SetLimit(500))
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		ids := make([]bson.ObjectID, len(list))
		for i, v := range list {
			ids[i] = v.CustomerID
		}
		if err := fn(ids); err != nil {
			return err
		}
		after = ids[len(ids)-1]
	}
}

// Merge folds a duplicate idea into another: the duplicate points to the target, and its
// votes move over without counting twice a customer who voted for both. Each vote is
// added to the target before it leaves the duplicate, so a retry after a crash finishes
// the move.
func (s *Service) Merge(ctx context.Context, staff *customers.Customer, dupID, targetID bson.ObjectID) (_ *Idea, err error) {
	if !staff.HasRole(customers.RoleProduct) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	if dupID == targetID {
		return nil, errs.Field("target", "idea.merge_self")
	}
	dup, err := s.Idea(ctx, dupID)
	if err != nil {
		return nil, err
	}
	target, err := s.Idea(ctx, targetID)
	if err != nil || target.Status != content.StatusPublished {
		return nil, errs.Field("target", "idea.not_found")
	}
	if target.MergedInto != nil {
		return nil, errs.Field("target", "idea.merged")
	}
	if dup.MergedInto != nil && *dup.MergedInto != targetID {
		return nil, errs.New(errs.ErrConflict, "idea.merged")
	}
	// Only an unmerged duplicate is merged (or one merged into this target, a retry), and
	// the target must still be unmerged after: two opposite merges at once cannot both win.
	res, err := s.ideas.UpdateOne(ctx, bson.M{"_id": dupID, "$or": bson.A{bson.M{"merged_into": bson.M{"$exists": false}}, bson.M{"merged_into": targetID}}},
		bson.M{"$set": bson.M{"merged_into": targetID, "updated_at": s.now(), "search_dirty": true}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if res.MatchedCount == 0 {
		return nil, errs.New(errs.ErrConflict, "idea.merged")
	}
	if again, err := s.Idea(ctx, targetID); err != nil || again.MergedInto != nil {
		// The target was merged meanwhile (into this duplicate, perhaps): undo ours.
		if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": dupID, "merged_into": targetID},
			bson.M{"$unset": bson.M{"merged_into": ""}, "$set": bson.M{"search_dirty": true}, "$inc": bson.M{"version": 1}}); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		return nil, errs.Field("target", "idea.merged")
	}
	for _, id := range []bson.ObjectID{targetID, dupID} {
		end, err := s.inFlight.Begin(ctx, string(content.KindIdea), id)
		if err != nil {
			return nil, err
		}
		defer func() { end(err == nil) }()
	}
	// The votes move a batch at a time. A customer who voted for both keeps the vote on the
	// target; their vote on the duplicate is withdrawn, one by one (an exact, retry-safe
	// uncount). The others are inserted on the target, then deleted from the duplicate.
	// Each step can be repeated after a crash; the counts are recounted at the end.
	for {
		list, err := store.FindAll[IdeaVote](ctx, s.votes, bson.M{"idea_id": dupID}, options.Find().SetLimit(500))
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			break
		}
		voters := make([]bson.ObjectID, len(list))
		told := make([]Notification, 0, len(list))
		for i, v := range list {
			voters[i] = v.CustomerID
			if v.CustomerID != staff.ID {
				told = append(told, Notification{CustomerID: v.CustomerID, Kind: NotifyIdeaMerged, ActorID: staff.ID,
					Title: dup.Title, URL: target.URL(), Key: "merged:" + dupID.Hex()})
			}
		}
		if err := s.notify(ctx, told...); err != nil {
			return nil, err
		}
		both, err := store.FindAll[IdeaVote](ctx, s.votes, bson.M{"idea_id": targetID, "customer_id": bson.M{"$in": voters}})
		if err != nil {
			return nil, err
		}
		onTarget := map[bson.ObjectID]bool{}
		for _, v := range both {
			onTarget[v.CustomerID] = true
			res, err := s.votes.DeleteOne(ctx, bson.M{"idea_id": dupID, "customer_id": v.CustomerID})
			if err != nil {
				return nil, fmt.Errorf("merge: %w", err)
			}
			if res.DeletedCount == 1 {
				if err := s.withdrawn(ctx, v.CustomerID, "votes"); err != nil {
					return nil, err
				}
			}
		}
		var moved []any
		var ids []bson.ObjectID
		for _, v := range list {
			if !onTarget[v.CustomerID] {
				moved = append(moved, IdeaVote{ID: bson.NewObjectID(), IdeaID: targetID, CustomerID: v.CustomerID, At: v.At, InWindow: v.InWindow})
				ids = append(ids, v.ID)
			}
		}
		if len(ids) == 0 {
			continue // every voter of this batch also voted for the target
		}
		if _, err := store.InsertNew(ctx, s.votes, moved); err != nil {
			return nil, err
		}
		if _, err := s.votes.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	// Recounted from the votes themselves, so an interrupted merge that is run again ends exact.
	for _, id := range []bson.ObjectID{targetID, dupID} {
		n, err := s.votes.CountDocuments(ctx, bson.M{"idea_id": id})
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		recent, err := s.votes.CountDocuments(ctx, bson.M{"idea_id": id, "in_window": true})
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"vote_count": n, "trend_votes": recent}}); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	store.FollowUp(ctx, "merge",
		func() error { _, _, err := s.refreshVoters(ctx, targetID); return err },
		func() error { _, _, err := s.refreshVoters(ctx, dupID); return err })
	return s.Idea(ctx, targetID)
}

// Idea list orders.
const (
	IdeasTop      = "top"
	IdeasNewest   = "newest"
	IdeasTrending = "trending" // most votes in the last 14 days
	// IdeasVotersValue: the voters' value summed (Idea.Voters), most first. For product
	// staff only: the handlers offer and accept it for them alone.
	IdeasVotersValue = "voters_value"
)

// IdeaSorts lists the orders, the default first.
var IdeaSorts = []string{IdeasTop, IdeasNewest, IdeasTrending}

// TrendingWindow is how far back trending counts votes.
const TrendingWindow = 14 * 24 * time.Hour

// IdeaQuery selects a page of published, unmerged ideas.
type IdeaQuery struct {
	Sort      string
	State     IdeaState     // optional
	ProductID bson.ObjectID // optional
	After     string
	Limit     int
}

// IdeaPage is a page of ideas and the cursor of the next, "" on the last.
type IdeaPage struct {
	Ideas []*Idea `json:"ideas"`
	Next  string  `json:"next,omitempty"`
}

// Ideas lists ideas a page at a time by key.
func (s *Service) Ideas(ctx context.Context, q IdeaQuery) (*IdeaPage, error) {
	limit := store.Limit(q.Limit, 20, 100)
	if q.Sort == IdeasTrending {
		return s.trending(ctx, q, limit)
	}
	filter := bson.M{"status": content.StatusPublished, "merged_into": bson.M{"$exists": false}}
	if q.State != "" {
		filter["state"] = q.State
	}
	if !q.ProductID.IsZero() {
		filter["product_id"] = q.ProductID
	}
	field := "vote_count" // top; "" newest
	cursor := func(i *Idea) string { return countCursor(i.VoteCount, i.ID) }
	switch q.Sort {
	case IdeasNewest:
		field = ""
	case IdeasVotersValue:
		field = "voters.value"
		cursor = func(i *Idea) string { return store.EncodeCursor(i.Voters.Value, i.ID) }
	}
	sort, ok := store.DescendingPage(filter, field, q.After, nil)
	if !ok {
		return nil, ErrBadCursor
	}
	list, err := s.findIdeas(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, err
	}
	page := &IdeaPage{}
	page.Ideas, page.Next = store.TrimPage(list, limit, cursor)
	return page, nil
}

// trending ranks ideas by their votes of the last 14 days (TrendVotes, kept on every vote
// and withdrawal, less the votes that have left the window since the last look), by key
// like the other orders.
func (s *Service) trending(ctx context.Context, q IdeaQuery, limit int) (*IdeaPage, error) {
	if err := s.expireTrending(ctx); err != nil {
		return nil, err
	}
	filter := bson.M{"status": content.StatusPublished, "merged_into": bson.M{"$exists": false}, "trend_votes": bson.M{"$gt": 0}}
	if q.State != "" {
		filter["state"] = q.State
	}
	if !q.ProductID.IsZero() {
		filter["product_id"] = q.ProductID
	}
	sort, ok := store.DescendingPage(filter, "trend_votes", q.After, nil)
	if !ok {
		return nil, ErrBadCursor
	}
	list, err := s.findIdeas(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, err
	}
	page := &IdeaPage{}
	page.Ideas, page.Next = store.TrimPage(list, limit, func(i *Idea) string { return countCursor(i.TrendVotes, i.ID) })
	return page, nil
}

// Roadmap lists the most voted ideas of each roadmap state.
func (s *Service) Roadmap(ctx context.Context, perState int) (map[IdeaState][]*Idea, error) {
	out := map[IdeaState][]*Idea{}
	for _, st := range RoadmapStates {
		page, err := s.Ideas(ctx, IdeaQuery{State: st, Limit: perState})
		if err != nil {
			return nil, err
		}
		out[st] = page.Ideas
	}
	return out, nil
}

func (s *Service) findIdeas(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]*Idea, error) {
	return store.FindAll[Idea](ctx, s.ideas, filter, opts.SetProjection(bson.M{"history": 0}))
}

func countCursor(n int, id bson.ObjectID) string { return store.EncodeCursor(int64(n), id) }
