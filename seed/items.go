package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/reviews"
)

// Emails of generated members: member-000042@seed.guyub.example.
func memberEmail(i int) string { return fmt.Sprintf("member-%06d@seed.guyub.example", i) }

// MemberEmail is the address of generated member i, for tools that act as one.
func MemberEmail(i int) string { return memberEmail(i) }

// The first BenchMembers members can sign in with BenchPassword, so that guyub bench can act
// as them through the sign-in form. Like the demo's, the password is public.
const (
	BenchMembers  = 16
	BenchPassword = "guyub-seed-2026"
)

// member makes member i: 60 % write Indonesian, 40 % English.
func (s *Seeder) member(ctx context.Context, i int) error {
	c, err := s.deps.Customers.FindByEmail(ctx, memberEmail(i))
	if errors.Is(err, errs.ErrNotFound) {
		r := rnd("member", i)
		lang, name := "id", pick(r, firstID)+" "+pick(r, lastID)
		if r.IntN(10) < 4 {
			lang, name = "en", pick(r, firstEN)+" "+pick(r, lastEN)
		}
		c, err = s.deps.Customers.Create(ctx, customers.NewCustomer{Email: memberEmail(i), EmailVerified: true, DisplayName: name, Locale: lang})
	}
	if err != nil {
		return err
	}
	if i < BenchMembers && c.PasswordHash == "" {
		if err := s.deps.Identity.SetPassword(ctx, c.ID, BenchPassword); err != nil {
			return fmt.Errorf("bench member password: %w", err)
		}
	}
	s.members[i] = c
	return nil
}

// product makes product i of the generated catalogue.
func (s *Seeder) product(ctx context.Context, i int) error {
	r := rnd("product", i)
	kind := productKinds[i%len(productKinds)]
	name := fmt.Sprintf("%s %s %s", kind.name, pick(r, kind.variants), pick(r, productLines))
	slug := fmt.Sprintf("%s-%04d", slugOf(name), i)
	p, err := s.deps.Reviews.Product(ctx, slug)
	if errors.Is(err, errs.ErrNotFound) {
		p, err = s.deps.Reviews.CreateProduct(ctx, reviews.ProductInput{Slug: slug, Name: name, Category: kind.category,
			Description: fmt.Sprintf("%s %s", kind.descEN, kind.descID)})
	}
	if err != nil {
		return err
	}
	s.products[i] = p
	return nil
}

// purchasesAndAnswers gives member i one to three purchases over the last year and answers
// to the surveys (most answer NPS, fewer CSAT and CES), keyed so they are recorded once.
func (s *Seeder) purchasesAndAnswers(ctx context.Context, i int) error {
	r := rnd("purchases", i)
	c := s.members[i]
	now := time.Now().UTC()
	for k := range 1 + r.IntN(3) {
		p := s.products[r.IntN(len(s.products))]
		at := now.Add(-time.Duration(r.IntN(365*24)) * time.Hour)
		_, err := s.deps.Reviews.RecordPurchase(ctx, c.ID, customers.Purchase{ProductID: p.ID,
			OrderID: fmt.Sprintf("seed-%d-%d", i, k), At: at, Amount: int64(25_000 + r.IntN(80)*5_000)})
		if err != nil {
			return err
		}
	}
	mood := r.NormFloat64() // a member's leaning, shared by their answers
	for k, sv := range s.surveys {
		if r.IntN(10) >= []int{7, 4, 2}[k%3] {
			continue
		}
		lo, hi := sv.Kind.Scale()
		score := int(float64(lo+hi)/2 + mood*float64(hi-lo)/4 + r.NormFloat64())
		if sv.Kind == feedback.KindCES {
			score = lo + hi - score // low is good
		}
		score = min(max(score, lo), hi)
		at := now.Add(-time.Duration(r.IntN(300*24)) * time.Hour)
		in := feedback.AnswerInput{Score: &score, Key: fmt.Sprintf("seed-%d-%d", i, k), At: at.Format(time.RFC3339)}
		if r.IntN(3) == 0 {
			in.Comment = sentence(r, s.members[i].Locale, mood > 0, "")
		}
		if _, _, err := s.deps.Feedback.Answer(ctx, c, sv.ID, in, "api"); err != nil && !errors.Is(err, errs.ErrConflict) {
			return err
		}
	}
	return nil
}

// thread makes thread i and its replies; replies per thread are skewed (many quiet threads,
// a few long ones) and sum to about scale.Posts. Some replies are liked.
func (s *Seeder) thread(ctx context.Context, scale Scale, i int) error {
	r := rnd("thread", i)
	author := s.members[r.IntN(len(s.members))]
	lang := author.Locale
	p := s.products[r.IntN(len(s.products))]
	title := fmt.Sprintf(pick(r, threadTitles[lang]), p.Name) + fmt.Sprintf(" #%d", i+1)
	t, err := s.deps.Community.ThreadBy(ctx, author.ID, title)
	if errors.Is(err, errs.ErrNotFound) {
		t, err = s.deps.Community.CreateThread(ctx, author, community.ThreadInput{
			Category: s.cats[r.IntN(len(s.cats))], Title: title, Lang: lang,
			Body: paragraph(r, lang, r.IntN(2) == 0, p.Name), Tags: []string{pick(r, tags), pick(r, tags)},
		})
	}
	if err != nil {
		return err
	}
	mean := float64(scale.Posts) / float64(scale.Threads)
	replies := min(int(r.ExpFloat64()*mean), int(mean*8))
	for j := t.ReplyCount; j < replies; j++ {
		rr := rnd(fmt.Sprintf("reply-%d", i), j)
		who := s.members[rr.IntN(len(s.members))]
		post, err := s.deps.Community.Reply(ctx, who, content.Ref{Kind: content.KindThread, ID: t.ID},
			community.PostInput{Body: paragraph(rr, who.Locale, rr.IntN(3) > 0, p.Name) + fmt.Sprintf(" (%d)", j+1), Lang: who.Locale})
		if err != nil {
			return fmt.Errorf("reply %d: %w", j, err)
		}
		for range rr.IntN(4) / 2 {
			fan := s.members[rr.IntN(len(s.members))]
			if fan.ID == who.ID {
				continue
			}
			if _, err := s.deps.Community.Like(ctx, fan, post.ID, true); err != nil {
				return fmt.Errorf("like: %w", err)
			}
		}
	}
	return nil
}

// review makes review i: member i mod customers reviews a product (one per product each),
// ratings lean positive as on real shops; some get helpful votes.
func (s *Seeder) review(ctx context.Context, scale Scale, i int) error {
	r := rnd("review", i)
	author := s.members[i%len(s.members)]
	p := s.products[(i/len(s.members)+int(author.ID.Timestamp().UnixNano()%7919)+i*31)%len(s.products)]
	_, err := s.deps.Reviews.ReviewBy(ctx, author.ID, p.ID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	rating := []int{1, 2, 3, 4, 4, 5, 5, 5}[r.IntN(8)]
	lang := author.Locale
	rv, err := s.deps.Reviews.Create(ctx, author, p.Slug, reviews.Input{Rating: rating, Lang: lang,
		Title: pick(r, reviewTitles[lang][rating >= 4]), Body: paragraph(r, lang, rating >= 4, p.Name)})
	if errors.Is(err, errs.ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	for range r.IntN(3) {
		voter := s.members[r.IntN(len(s.members))]
		if voter.ID == author.ID {
			continue
		}
		if _, err := s.deps.Reviews.Vote(ctx, voter, rv.ID, r.IntN(5) > 0); err != nil {
			return fmt.Errorf("helpful vote: %w", err)
		}
	}
	return nil
}

// idea makes idea i with its votes (a few ideas gather most of them).
func (s *Seeder) idea(ctx context.Context, i int) error {
	r := rnd("idea", i)
	author := s.members[r.IntN(len(s.members))]
	lang := author.Locale
	p := s.products[r.IntN(len(s.products))]
	title := fmt.Sprintf(pick(r, ideaTitles[lang]), p.Name) + fmt.Sprintf(" #%d", i+1)
	idea, err := s.deps.Community.IdeaBy(ctx, author.ID, title)
	if errors.Is(err, errs.ErrNotFound) {
		idea, err = s.deps.Community.CreateIdea(ctx, author, community.IdeaInput{Title: title, Lang: lang,
			Body: paragraph(r, lang, true, p.Name), ProductID: p.ID})
	}
	if err != nil {
		return err
	}
	votes := min(int(r.ExpFloat64()*4), 200)
	for range votes {
		// As a request does, with the voter's record as it stands now (after their purchases
		// and answers): what they are worth moves the idea's summary.
		voter, err := s.deps.Customers.Get(ctx, s.members[r.IntN(len(s.members))].ID)
		if err != nil {
			return err
		}
		if _, err := s.deps.Community.Vote(ctx, voter, idea.ID, true); err != nil {
			return fmt.Errorf("vote: %w", err)
		}
	}
	return nil
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
