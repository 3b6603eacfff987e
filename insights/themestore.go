package insights

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// ErrThemeNotFound is a theme key nobody defined.
var ErrThemeNotFound = errs.New(errs.ErrNotFound, "theme.not_found")

// Themes lists the themes, in the order admins gave them; the default taxonomy until an
// admin changes it.
func (s *Service) Themes(ctx context.Context) ([]Theme, error) {
	list, err := store.FindAll[Theme](ctx, s.themes, bson.M{}, options.Find().SetSort(bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("themes: %w", err)
	}
	if len(list) == 0 {
		return slices.Clone(DefaultThemes), nil
	}
	out := make([]Theme, len(list))
	for i, t := range list {
		out[i] = *t
	}
	return out, nil
}

// ThemeInput is a theme as an admin writes it: cues one per line or comma separated.
type ThemeInput struct {
	Key    string `form:"key" json:"key"` // new themes only
	NameEN string `form:"name_en" json:"name_en"`
	NameID string `form:"name_id" json:"name_id"`
	Cues   string `form:"cues" json:"cues"`
}

var themeKey = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// Limits of a theme.
const (
	maxThemes    = 60
	maxCues      = 200
	maxCueLen    = 60
	maxThemeName = 60
)

// SaveTheme adds a theme (key empty on the stored side) or changes one; the feedback is
// then read again with the new themes (Reanalyse).
func (s *Service) SaveTheme(ctx context.Context, admin *customers.Customer, key string, in ThemeInput) (*Theme, error) {
	if !admin.HasRole(customers.RoleAdmin) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	list, err := s.Themes(ctx)
	if err != nil {
		return nil, err
	}
	var f errs.Fields
	creating := key == ""
	if creating {
		key = strings.TrimSpace(in.Key)
		switch {
		case !themeKey.MatchString(key):
			f.Add("key", "theme.key_format")
		case slices.ContainsFunc(list, func(t Theme) bool { return t.Key == key }):
			f.Add("key", "theme.key_taken")
		case len(list) >= maxThemes:
			f.Add("key", "theme.too_many", "Max", maxThemes)
		}
	} else if !slices.ContainsFunc(list, func(t Theme) bool { return t.Key == key }) {
		return nil, ErrThemeNotFound
	}
	th := Theme{Key: key, Name: map[string]string{"en": strings.TrimSpace(in.NameEN), "id": strings.TrimSpace(in.NameID)}}
	for _, lang := range []string{"en", "id"} {
		switch n := utf8.RuneCountInString(th.Name[lang]); {
		case n == 0:
			f.Add("name_"+lang, "field.required")
		case n > maxThemeName:
			f.Add("name_"+lang, "field.too_long", "Max", maxThemeName)
		}
	}
	for _, cue := range strings.FieldsFunc(in.Cues, func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		cue = strings.ToLower(strings.Join(strings.Fields(cue), " "))
		if cue == "" || slices.Contains(th.Cues, cue) {
			continue
		}
		if utf8.RuneCountInString(cue) > maxCueLen || len(words(tokens(strings.TrimSuffix(cue, "*")))) == 0 {
			f.Add("cues", "theme.bad_cue", "Cue", cue, "Max", maxCueLen)
			break
		}
		th.Cues = append(th.Cues, cue)
	}
	switch {
	case len(th.Cues) == 0:
		f.Add("cues", "field.required")
	case len(th.Cues) > maxCues:
		f.Add("cues", "theme.too_many_cues", "Max", maxCues)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if creating {
		list = append(list, th)
	} else {
		for i := range list {
			if list[i].Key == key {
				list[i] = th
			}
		}
	}
	return &th, s.storeThemes(ctx, list)
}

// DeleteTheme removes a theme; its feedback is read again without it.
func (s *Service) DeleteTheme(ctx context.Context, admin *customers.Customer, key string) error {
	if !admin.HasRole(customers.RoleAdmin) {
		return errs.New(errs.ErrForbidden, "error.403.message")
	}
	list, err := s.Themes(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(t Theme) bool { return t.Key == key })
	if i < 0 {
		return ErrThemeNotFound
	}
	return s.storeThemes(ctx, slices.Delete(list, i, i+1))
}

// storeThemes writes the whole list, in order (a few dozen documents), and counts a new
// version of the themes: every item is read again.
func (s *Service) storeThemes(ctx context.Context, list []Theme) error {
	models := []mongo.WriteModel{mongo.NewDeleteManyModel().SetFilter(bson.M{"_id": bson.M{"$nin": keys(list)}})}
	for i, t := range list {
		t.Position = i
		models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": t.Key}).SetReplacement(t).SetUpsert(true))
	}
	if _, err := s.themes.BulkWrite(ctx, models); err != nil {
		return fmt.Errorf("themes: %w", err)
	}
	_, err := s.state.UpdateOne(ctx, bson.M{"_id": "themes"}, bson.M{"$inc": bson.M{"version": 1}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("themes: %w", err)
	}
	s.ForgetReports()
	return nil
}

func keys(list []Theme) bson.A {
	out := bson.A{}
	for _, t := range list {
		out = append(out, t.Key)
	}
	return out
}

// themesVersion counts the changes made to the themes.
func (s *Service) themesVersion(ctx context.Context) (int, error) {
	var st struct {
		Version int `bson:"version"`
	}
	err := s.state.FindOne(ctx, bson.M{"_id": "themes"}).Decode(&st)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("themes: %w", err)
	}
	return st.Version, nil
}

// reanalysis is how far the reading of every item with the current model and themes got.
type reanalysis struct {
	Version string `bson:"version"` // what the items are being read with
	After   string `bson:"after"`   // the last item read
	Done    bool   `bson:"done"`
}

// Reanalyse reads again, a batch at a time, every item read with another model or other
// themes, and puts changed sentiments on the records. It resumes where it stopped (the
// position is stored after each batch) and starts over when the themes change again; run
// it under a lease (one instance at a time). progress, if not nil, is told the items read.
func (s *Service) Reanalyse(ctx context.Context, progress func(done int)) error {
	a, version, err := s.current(ctx)
	if err != nil {
		return err
	}
	var st reanalysis
	if err := s.state.FindOne(ctx, bson.M{"_id": "reanalysis"}).Decode(&st); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("reanalysis: %w", err)
	}
	if st.Version != version {
		st = reanalysis{Version: version}
	}
	done := 0
	for !st.Done {
		filter := bson.M{}
		if st.After != "" {
			filter["_id"] = bson.M{"$gt": st.After}
		}
		batch, err := store.FindAll[Item](ctx, s.items, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(500))
		if err != nil {
			return fmt.Errorf("reanalysis: %w", err)
		}
		var models []mongo.WriteModel
		var changed []*Item
		for _, it := range batch {
			if it.Analysed == version {
				continue
			}
			score := it.Score
			s.analyse(a, version, it)
			if it.Score != score {
				changed = append(changed, it)
			}
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": it.ID, "text_hash": it.TextHash}).SetUpdate(bson.M{"$set": bson.M{
				"lang": it.Lang, "sentiment": it.Sentiment, "score": it.Score, "themes": it.Themes, "theme_sentiments": it.ThemeSentiments, "phrases": it.Phrases, "analysed": it.Analysed}}))
		}
		// Signals before the items (keyed, so a retry records each once): were they after,
		// a failure between would leave items read anew that no retry reads again.
		if err := s.recordSentiment(ctx, changed); err != nil {
			return err
		}
		if len(models) > 0 {
			if _, err := s.items.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
				return fmt.Errorf("reanalysis: %w", err)
			}
			s.ForgetReports() // reports made with the old reading
		}
		// An item edited meanwhile kept its newer reading (the update is guarded by its
		// words): its signal is put back from it.
		edited, err := s.edited(ctx, changed)
		if err != nil {
			return err
		}
		if err := s.recordSentiment(ctx, edited); err != nil {
			return err
		}
		done += len(batch)
		if progress != nil {
			progress(done)
		}
		if len(batch) > 0 {
			st.After = batch[len(batch)-1].ID
		}
		st.Done = len(batch) < 500
		if _, err := s.state.ReplaceOne(ctx, bson.M{"_id": "reanalysis"}, st, options.Replace().SetUpsert(true)); err != nil {
			return fmt.Errorf("reanalysis: %w", err)
		}
	}
	return nil
}

// Fed says whether insights was given the feedback that existed before it (MarkFed).
func (s *Service) Fed(ctx context.Context) (bool, error) {
	n, err := s.state.CountDocuments(ctx, bson.M{"_id": "fed"})
	if err != nil {
		return false, fmt.Errorf("insights: %w", err)
	}
	return n > 0, nil
}

// MarkFed notes that insights has every piece of feedback: the search sync brings the rest.
func (s *Service) MarkFed(ctx context.Context) error {
	_, err := s.state.UpdateOne(ctx, bson.M{"_id": "fed"}, bson.M{"$set": bson.M{"at": s.now()}}, options.UpdateOne().SetUpsert(true))
	return err
}

// edited lists, as they are now, the items whose stored words are no longer the ones
// they were read from.
func (s *Service) edited(ctx context.Context, items []*Item) ([]*Item, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	now, err := s.itemsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []*Item
	for _, it := range items {
		if cur := now[it.ID]; cur != nil && cur.TextHash != it.TextHash {
			out = append(out, cur)
		}
	}
	return out, nil
}
