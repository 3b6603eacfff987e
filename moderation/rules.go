package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/text/unicode/norm"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/loyalty"
)

// Rules are the pre-screen settings admins edit.
type Rules struct {
	Blocked        map[string][]string `bson:"blocked" json:"blocked"` // by language (en, id): refused outright
	Watched        map[string][]string `bson:"watched" json:"watched"` // by language: held for a moderator
	MaxLinks       int                 `bson:"max_links" json:"max_links"`
	NewAccountHold int                 `bson:"new_account_hold" json:"new_account_hold"` // an author's first N contributions wait
	FlagThreshold  int                 `bson:"flag_threshold" json:"flag_threshold"`     // flags from distinct customers that hide an item
	UpdatedAt      time.Time           `bson:"updated_at" json:"updated_at"`
	UpdatedBy      bson.ObjectID       `bson:"updated_by,omitempty" json:"-"`
}

// DefaultRules are in force until an admin changes them.
func DefaultRules() Rules {
	return Rules{
		Blocked: map[string][]string{
			"en": {"casino online", "buy followers", "cheap viagra"},
			"id": {"judi online", "slot gacor", "pinjol ilegal"},
		},
		Watched: map[string][]string{
			"en": {"scam", "fraud", "idiot", "stupid", "lawsuit"},
			"id": {"penipu", "penipuan", "bodoh", "goblok", "tolol"},
		},
		MaxLinks:       3,
		NewAccountHold: 0,
		FlagThreshold:  3,
	}
}

const rulesID = "rules"

// Rules returns the rules in force.
func (s *Service) Rules(ctx context.Context) (Rules, error) {
	return s.rules.Get(ctx)
}

func (s *Service) loadRules(ctx context.Context) (Rules, error) {
	var r Rules
	err := s.settings.FindOne(ctx, bson.M{"_id": rulesID}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return DefaultRules(), nil
	}
	if err != nil {
		return Rules{}, fmt.Errorf("moderation rules: %w", err)
	}
	return r, nil
}

// SaveRules replaces the rules; the change is in the audit log.
func (s *Service) SaveRules(ctx context.Context, actor bson.ObjectID, r Rules) error {
	var f errs.Fields
	if r.MaxLinks < 0 || r.MaxLinks > 100 {
		f.Add("max_links", "field.range", "Min", 0, "Max", 100)
	}
	if r.NewAccountHold < 0 || r.NewAccountHold > 100 {
		f.Add("new_account_hold", "field.range", "Min", 0, "Max", 100)
	}
	if r.FlagThreshold < 1 || r.FlagThreshold > 100 {
		f.Add("flag_threshold", "field.range", "Min", 1, "Max", 100)
	}
	if err := f.Err(); err != nil {
		return err
	}
	for _, lists := range []map[string][]string{r.Blocked, r.Watched} {
		for lang, words := range lists {
			lists[lang] = cleanWords(words)
		}
	}
	r.UpdatedAt, r.UpdatedBy = s.now(), actor
	if _, err := s.settings.ReplaceOne(ctx, bson.M{"_id": rulesID}, r, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("save rules: %w", err)
	}
	s.rules.Forget()
	return s.record(ctx, Entry{Actor: actor, Action: ActionRules})
}

// cleanWords lower-cases, trims and de-duplicates a word list.
func cleanWords(words []string) []string {
	var out []string
	for _, w := range words {
		if w = normalize(w); w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// normalize lower-cases text, drops accents and turns every run of non-letters into one
// space, so "Pe-nipu!" and "penipu" are compared as words.
func normalize(s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// findWord returns the first listed word or phrase that appears as whole words in text.
func findWord(text string, lists map[string][]string) string {
	padded := " " + text + " "
	for _, lang := range []string{"en", "id"} {
		for _, w := range lists[lang] {
			if strings.Contains(padded, " "+w+" ") {
				return w
			}
		}
	}
	return ""
}

func countLinks(text string) int {
	lower := strings.ToLower(text)
	return strings.Count(lower, "http://") + strings.Count(lower, "https://") + strings.Count(lower, "www.")
}

func fingerprint(text string) string {
	sum := sha256.Sum256([]byte(normalize(text)))
	return hex.EncodeToString(sum[:16])
}

// ErrBlocked is the answer to content with a blocked word; the author can change it.
func blockedError(word string) error {
	return errs.Field("body", "moderation.blocked_word", "Word", word)
}

type fingerprintDoc struct {
	ID     string        `bson:"_id"` // the content's ref
	Author bson.ObjectID `bson:"author"`
	Hash   string        `bson:"hash"`
	At     time.Time     `bson:"at"`
}

// Screen applies the rules to a submission without writing anything: a blocked word
// refuses it (an error for the author), any other rule holds it for a moderator, with
// every reason that applied.
func (s *Service) Screen(ctx context.Context, sub content.Submission) (content.Verdict, error) {
	if _, imported := content.ImportedFrom(ctx); imported {
		return content.Verdict{Status: content.StatusPublished}, nil // published where it came from
	}
	rules, err := s.Rules(ctx)
	if err != nil {
		return content.Verdict{}, err
	}
	text := normalize(sub.Text)
	if w := findWord(text, rules.Blocked); w != "" {
		return content.Verdict{}, blockedError(w)
	}
	var reasons []content.Reason
	if w := findWord(text, rules.Watched); w != "" {
		reasons = append(reasons, content.Reason{Rule: "watched_word", Detail: w})
	}
	// What the author's trust level allows, read only when a rule would hold them.
	level := -1
	levelOf := func() (int, error) {
		if level < 0 {
			author, err := s.customers.Get(ctx, sub.Author)
			if err != nil {
				return 0, err
			}
			level = loyalty.LevelOf(author, s.now())
		}
		return level, nil
	}
	if n := countLinks(sub.Text); n > rules.MaxLinks {
		l, err := levelOf()
		if err != nil {
			return content.Verdict{}, err
		}
		if !loyalty.LinksAllowed(l) {
			reasons = append(reasons, content.Reason{Rule: "too_many_links", Detail: fmt.Sprint(n)})
		}
	}
	// Repeated identical content: the same author's same words on another item.
	n, err := s.fingerprints.CountDocuments(ctx, bson.M{"author": sub.Author, "hash": fingerprint(sub.Text), "_id": bson.M{"$ne": sub.Ref.String()}})
	if err != nil {
		return content.Verdict{}, fmt.Errorf("screen: %w", err)
	}
	if n > 0 {
		reasons = append(reasons, content.Reason{Rule: "duplicate"})
	}
	if rules.NewAccountHold > 0 {
		l, err := levelOf()
		if err != nil {
			return content.Verdict{}, err
		}
		if !loyalty.PastNewAccountHold(l) {
			earlier, err := s.fingerprints.CountDocuments(ctx, bson.M{"author": sub.Author, "_id": bson.M{"$ne": sub.Ref.String()}})
			if err != nil {
				return content.Verdict{}, fmt.Errorf("screen: %w", err)
			}
			if earlier < int64(rules.NewAccountHold) {
				reasons = append(reasons, content.Reason{Rule: "new_account", Detail: fmt.Sprint(earlier + 1)})
			}
		}
	}
	if len(reasons) > 0 {
		return content.Verdict{Status: content.StatusPending, Reasons: reasons}, nil
	}
	return content.Verdict{Status: content.StatusPublished}, nil
}

// Record notes a screened submission once it is stored: its fingerprint (for the duplicate
// and new-account rules) and, if held, its place in the queue and the rules' decision in
// the audit log.
func (s *Service) Record(ctx context.Context, sub content.Submission, v content.Verdict) error {
	_, err := s.fingerprints.ReplaceOne(ctx, bson.M{"_id": sub.Ref.String()},
		fingerprintDoc{ID: sub.Ref.String(), Author: sub.Author, Hash: fingerprint(sub.Text), At: s.now()},
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record screening: %w", err)
	}
	if v.Status != content.StatusPending {
		return nil
	}
	if err := s.enqueue(ctx, sub, v.Reasons); err != nil {
		return err
	}
	return s.record(ctx, Entry{Action: ActionScreen, Target: &sub.Ref, TargetAuthor: sub.Author,
		After: content.StatusPending, Reasons: v.Reasons})
}
