package insights

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Example is a labelled sentence: its text, its class and its language.
type Example struct {
	Text  string
	Class int
	Lang  string
}

var classNames = [classes]string{"negative", "neutral", "positive"}

// ReadExamples reads a file of text<TAB>label lines in a language.
func ReadExamples(path, lang string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text, label, ok := strings.Cut(sc.Text(), "\t")
		class := -1
		for c, name := range classNames {
			if label == name {
				class = c
			}
		}
		if !ok || class < 0 {
			return nil, fmt.Errorf("%s:%d: want text<TAB>positive|neutral|negative", path, n)
		}
		out = append(out, Example{Text: text, Class: class, Lang: lang})
	}
	return out, sc.Err()
}

// TrainSettings are the choices the training command makes on the validation sets.
type TrainSettings struct {
	Features     featureSettings
	Epochs       int
	LearningRate float64
	L2           float64
	// Average is how many of the last epochs' weights are averaged into the model's:
	// an average moves less with the order of the last examples than the final weights.
	Average int
	// MinWeight is the least weight a feature must have in some class to be kept.
	MinWeight float64
	// MinCount is the fewest training sentences a feature must be in to be kept: one
	// sentence's quirks say little about the next text.
	MinCount int
	// BalanceClasses weighs each class by the inverse of its share, so the rare neutral
	// class is not ignored.
	BalanceClasses bool
}

// DefaultTrainSettings are the settings chosen on the validation sets (see the note in
// cmd/guyub/train.go for the figures of each tried).
var DefaultTrainSettings = TrainSettings{
	Features:     featureSettings{Contrast: true, Intensify: true},
	Epochs:       8,
	LearningRate: 0.1,
	L2:           1e-6,
	Average:      2,
}

// Train builds a model from training examples and the lexicons in dir (vader_lexicon.txt,
// afinn_id.json). The result is the same for the same input: a fixed seed shuffles.
func Train(examples []Example, lexiconDir string, st TrainSettings) (*Model, error) {
	lex, err := readLexicons(lexiconDir)
	if err != nil {
		return nil, err
	}
	m := &Model{Settings: st.Features, training: make([]float32, buckets*classes), Dense: make([]float32, denseCount*classes),
		Lexicon: wordValues(lex), lexicon: lex, EnglishNeutral: 0.1}
	m.langWords, m.LangGrams = trainLanguage(examples)
	m.LangWords = wordValues(m.langWords)

	vecs := make([]vector, len(examples))
	seen := make([]uint8, buckets)
	for i, ex := range examples {
		toks := tokens(ex.Text)
		id, en := m.langCounts(toks)
		m.vectorize(toks, id, en, &vecs[i])
		vecs[i].idx = append([]uint32(nil), vecs[i].idx...)
		for _, j := range vecs[i].idx {
			seen[j] = min(seen[j]+1, 255)
		}
	}
	// Rare features are left out of training, not just of the model, so the weights of
	// the others are learned without them, as they will be used. Each vector keeps its
	// length (value) as computed with every feature, as the analyser computes it.
	for i := range vecs {
		vecs[i].idx = slices.DeleteFunc(vecs[i].idx, func(j uint32) bool { return int(seen[j]) < st.MinCount })
	}
	var count [classes]float64
	for _, ex := range examples {
		count[ex.Class]++
	}
	var weight [classes]float64
	for c := range classes {
		weight[c] = 1
		if st.BalanceClasses && count[c] > 0 {
			weight[c] = float64(len(examples)) / (classes * count[c])
		}
	}
	// Adagrad: each weight's step shrinks with the gradients it has seen.
	sumSq := make([]float32, len(m.training))
	denseSq := make([]float32, len(m.Dense))
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lr, l2 := float32(st.LearningRate), float32(st.L2)
	var avgW, avgD []float32
	if st.Average > 0 {
		avgW, avgD = make([]float32, len(m.training)), make([]float32, len(m.Dense))
	}
	for epoch := range st.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			ex, v := examples[k], &vecs[k]
			allowed := (*[classes]bool)(nil)
			if ex.Lang == LangEnglish {
				allowed = &positiveOrNegative // its data knows no neutral: learn only positive against negative
			}
			p := m.probabilities(v, allowed)
			for c := range classes {
				if allowed != nil && !allowed[c] {
					continue
				}
				y := float32(0)
				if c == ex.Class {
					y = 1
				}
				g := (p[c] - y) * float32(weight[ex.Class])
				for _, i := range v.idx {
					j := int(i)*classes + c
					gj := g*v.value + l2*m.training[j]
					sumSq[j] += gj * gj
					m.training[j] -= lr * gj / float32(math.Sqrt(float64(sumSq[j]))+1e-8)
				}
				for d := range denseCount {
					j := d*classes + c
					gj := g * v.dense[d]
					denseSq[j] += gj * gj
					m.Dense[j] -= lr * gj / float32(math.Sqrt(float64(denseSq[j]))+1e-8)
				}
			}
		}
		if st.Average > 0 && epoch >= st.Epochs-st.Average {
			for i, w := range m.training {
				avgW[i] += w / float32(st.Average)
			}
			for i, w := range m.Dense {
				avgD[i] += w / float32(st.Average)
			}
		}
	}
	if st.Average > 0 {
		m.training, m.Dense = avgW, avgD
	}
	m.pack(float32(st.MinWeight))
	return m, nil
}

// trainLanguage counts words and character trigrams in each language's examples and keeps
// their log-odds of being Indonesian.
func trainLanguage(examples []Example) (map[string]float32, []float32) {
	words := map[string]*[2]float64{}
	var grams [2][langGramBuckets]float64
	var total, gramTotal [2]float64
	for _, ex := range examples {
		side := 0
		if ex.Lang == LangIndonesian {
			side = 1
		}
		for _, t := range tokens(ex.Text) {
			if t.stop || t.emoji || isNumber(t.text) {
				continue
			}
			if words[t.text] == nil {
				words[t.text] = &[2]float64{}
			}
			words[t.text][side]++
			total[side]++
			padded := append(append([]byte{'^'}, t.text...), '$')
			for _, h := range appendCharGrams(nil, seed('l'), padded, 3, 3) {
				grams[side][h&(langGramBuckets-1)]++
				gramTotal[side]++
			}
		}
	}
	table := map[string]float32{}
	for w, n := range words {
		if n[0]+n[1] < 3 {
			continue // too rare to say: the trigrams will
		}
		lo := math.Log((n[1]+0.5)/(total[1]+1)) - math.Log((n[0]+0.5)/(total[0]+1))
		if math.Abs(lo) >= 1 {
			table[w] = float32(lo)
		}
	}
	out := make([]float32, langGramBuckets)
	for h := range out {
		lo := math.Log((grams[1][h]+1)/(gramTotal[1]+langGramBuckets)) - math.Log((grams[0][h]+1)/(gramTotal[0]+langGramBuckets))
		out[h] = float32(max(-4, min(4, lo)))
	}
	return table, out
}

// readLexicons merges the English and Indonesian valence lexicons, on VADER's −4…4 scale.
func readLexicons(dir string) (map[string]float32, error) {
	out := map[string]float32{}
	raw, err := os.ReadFile(filepath.Join(dir, "afinn_id.json"))
	if err != nil {
		return nil, err
	}
	var afinn map[string]float64
	if err := json.Unmarshal(raw, &afinn); err != nil {
		return nil, fmt.Errorf("afinn_id.json: %w", err)
	}
	for w, v := range afinn {
		out[normalWord(w)] = float32(v * 0.8)
	}
	f, err := os.Open(filepath.Join(dir, "vader_lexicon.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		word, val, _ := strings.Cut(sc.Text(), "\t")
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("vader_lexicon.txt: %q: %w", sc.Text(), err)
		}
		if w := normalWord(word); w != "" {
			out[w] = float32(v) // VADER's English rating wins over a translated one
		}
	}
	return out, sc.Err()
}

// normalWord is a lexicon entry as the tokenizer would spell it; "" for entries that are
// not one word (emoticons made of punctuation).
func normalWord(w string) string {
	toks := tokens(w)
	if len(toks) != 1 || toks[0].stop {
		return ""
	}
	return toks[0].text
}

// Scores are a model's figures on labelled examples.
type Scores struct {
	N         int
	Accuracy  float64
	MacroF1   float64 // over the classes the examples have
	Confusion [classes][classes]int
	Lang      map[string]int // the languages the model told
}

// Evaluate scores the model's sentiment on examples, as Analyse labels them.
func Evaluate(m *Model, examples []Example) Scores {
	s := Scores{N: len(examples), Lang: map[string]int{}}
	a := NewAnalyser(m, nil)
	right := 0
	for _, ex := range examples {
		r := a.Analyse(ex.Text, "")
		got := 0
		for c, name := range classNames {
			if name == r.Sentiment {
				got = c
			}
		}
		s.Confusion[ex.Class][got]++
		s.Lang[r.Lang]++
		if got == ex.Class {
			right++
		}
	}
	s.Accuracy = float64(right) / float64(max(1, len(examples)))
	present := 0
	for c := range classes {
		tp, gold, pred := 0, 0, 0
		for o := range classes {
			gold += s.Confusion[c][o]
			pred += s.Confusion[o][c]
		}
		tp = s.Confusion[c][c]
		if gold == 0 {
			continue
		}
		present++
		if tp > 0 {
			prec, rec := float64(tp)/float64(pred), float64(tp)/float64(gold)
			s.MacroF1 += 2 * prec * rec / (prec + rec)
		}
	}
	s.MacroF1 /= float64(max(1, present))
	return s
}

// WriteScores prints scores in a line.
func (s Scores) String() string {
	return fmt.Sprintf("n=%d accuracy=%.4f macro-F1=%.4f confusion(neg,neu,pos rows=gold)=%v languages=%v",
		s.N, s.Accuracy, s.MacroF1, s.Confusion, s.Lang)
}

// TrialSettings are the settings `guyub train-sentiment --try` scores: each one choice
// away from DefaultTrainSettings.
func TrialSettings() []TrainSettings {
	var out []TrainSettings
	add := func(change func(*TrainSettings)) {
		st := DefaultTrainSettings
		change(&st)
		out = append(out, st)
	}
	add(func(*TrainSettings) {})
	add(func(st *TrainSettings) { st.Features.Contrast = false })
	add(func(st *TrainSettings) { st.Features.Intensify = !st.Features.Intensify })
	for _, l := range []int{lengthSqrt, lengthLog, lengthNone} {
		add(func(st *TrainSettings) { st.Features.Length = l })
	}
	for _, f := range []featureSettings{{Bigrams: true, Contrast: true, Intensify: true}, {CharMin: 3, CharMax: 4, Bigrams: true, Contrast: true, Intensify: true},
		{CharMin: 2, CharMax: 4, Bigrams: true, Contrast: true, Intensify: true}, {CharMin: 3, CharMax: 5, Bigrams: true, Contrast: true, Intensify: true},
		{CharMin: 3, CharMax: 4, Bigrams: true, NegateChars: true, Contrast: true, Intensify: true}} {
		add(func(st *TrainSettings) { st.Features = f })
	}
	for _, e := range []int{4, 12} {
		add(func(st *TrainSettings) { st.Epochs = e })
	}
	for _, lr := range []float64{0.05, 0.2, 0.3} {
		add(func(st *TrainSettings) { st.LearningRate = lr })
	}
	for _, l2 := range []float64{0, 1e-5, 1e-4} {
		add(func(st *TrainSettings) { st.L2 = l2 })
	}
	for _, a := range []int{0, 4} {
		add(func(st *TrainSettings) { st.Average = a })
	}
	for _, n := range []int{2, 5} {
		add(func(st *TrainSettings) { st.MinCount = n })
	}
	add(func(st *TrainSettings) { st.BalanceClasses = true })
	return out
}
