package community

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/content"
)

// Moderation reaches threads, posts and ideas through these publishers (moderation's
// Publisher interface, wired in cmd).

// ThreadPublisher publishes and hides threads.
func (s *Service) ThreadPublisher() threadPublisher { return threadPublisher{s} }

// PostPublisher publishes and hides replies and comments.
func (s *Service) PostPublisher() postPublisher { return postPublisher{s} }

// IdeaPublisher publishes and hides ideas.
func (s *Service) IdeaPublisher() ideaPublisher { return ideaPublisher{s} }

type threadPublisher struct{ s *Service }

func (p threadPublisher) SetStatus(ctx context.Context, id bson.ObjectID, status content.Status, reason string) (content.Status, error) {
	return p.s.SetThreadStatus(ctx, id, status, reason)
}

func (p threadPublisher) Describe(ctx context.Context, id bson.ObjectID) (content.Submission, content.Status, error) {
	t, err := p.s.Thread(ctx, id)
	if err != nil {
		return content.Submission{}, "", err
	}
	body := ""
	if op, err := p.s.OpeningPost(ctx, id); err == nil {
		body = op.BodyMD
	}
	sub := content.Submission{Ref: content.Ref{Kind: content.KindThread, ID: id}, Author: t.AuthorID}.Titled(t.Title, body)
	if c, err := p.s.CategoryByID(ctx, t.CategoryID); err == nil {
		sub.Category = c.Slug
	}
	return sub, t.Status, nil
}

type postPublisher struct{ s *Service }

// A thread's opening post is moderated as its thread ("thread:…"), never alone, so its
// status cannot part from the thread's.
func (p postPublisher) reply(ctx context.Context, id bson.ObjectID) (*Post, error) {
	post, err := p.s.Post(ctx, id)
	if err != nil {
		return nil, err
	}
	if post.Opening {
		return nil, ErrPostNotFound
	}
	return post, nil
}

func (p postPublisher) SetStatus(ctx context.Context, id bson.ObjectID, status content.Status, reason string) (content.Status, error) {
	if _, err := p.reply(ctx, id); err != nil {
		return "", err
	}
	return p.s.SetPostStatus(ctx, id, status, reason)
}

func (p postPublisher) Describe(ctx context.Context, id bson.ObjectID) (content.Submission, content.Status, error) {
	post, err := p.reply(ctx, id)
	if err != nil {
		return content.Submission{}, "", err
	}
	return content.Submission{Ref: post.Ref(), Author: post.AuthorID}.Titled("", post.BodyMD), post.Status, nil
}

type ideaPublisher struct{ s *Service }

func (p ideaPublisher) SetStatus(ctx context.Context, id bson.ObjectID, status content.Status, reason string) (content.Status, error) {
	return p.s.SetIdeaStatus(ctx, id, status, reason)
}

func (p ideaPublisher) Describe(ctx context.Context, id bson.ObjectID) (content.Submission, content.Status, error) {
	i, err := p.s.Idea(ctx, id)
	if err != nil {
		return content.Submission{}, "", err
	}
	return IdeaInput{Title: i.Title, Body: i.BodyMD, ProductID: i.productID()}.submission(id, i.AuthorID), i.Status, nil
}
