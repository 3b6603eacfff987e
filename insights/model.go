package insights

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
)

// The classes the model tells apart, in the order of its weights.
const (
	classNegative = iota
	classNeutral
	classPositive
	classes
)

// Model is the trained sentiment and language model: a multinomial logistic regression
// over hashed words, word pairs and character n-grams plus lexicon sums, and the tables
// that tell Indonesian words from English ones. It is built by Train from the labelled
// sentences in ../shared/data/sentiment and shipped inside the binary (model.gob.gz).
type Model struct {
	Settings featureSettings
	// Packed is the weights of the features seen in training, as stored: for each feature
	// its bucket (4 bytes) and its weights in units of Scale (2 bytes a class), little
	// endian. Reading the model unpacks them into keys and vals.
	Packed []byte
	Scale  float32
	Dense  []float32 // denseCount × classes
	// Lexicon is each word's valence from −4 to 4: VADER's for English, AFINN's translated
	// for Indonesian (see the training sources), sorted by word so that the same training
	// writes the same file.
	Lexicon []WordValue
	// LangWords is each frequent word's log-odds of being Indonesian rather than English;
	// LangGrams the same for hashed character trigrams, for the words not in LangWords.
	LangWords []WordValue
	LangGrams []float32 // langGramBuckets
	// EnglishNeutral is the margin between positive and negative under which an English
	// text with no lexicon word is neutral: English training data has no neutral class.
	EnglishNeutral float32
	// About says what the model was trained on and how it scored on validation.
	About string

	lexicon, langWords map[string]float32 // Lexicon and LangWords, to look up

	// keys and vals are an open-addressing table of the weights: keys[slot] is a
	// feature's bucket + 1 (0: empty), vals[slot×classes…] its weights in units of Scale.
	keys     []uint32
	vals     []int16
	training []float32 // buckets × classes, while Train runs
}

// WordValue is a word and a number the model keeps for it.
type WordValue struct {
	Word  string
	Value float32
}

// wordValues lists a map's entries sorted by word.
func wordValues(m map[string]float32) []WordValue {
	out := make([]WordValue, 0, len(m))
	for w, v := range m {
		out = append(out, WordValue{w, v})
	}
	slices.SortFunc(out, func(a, b WordValue) int { return strings.Compare(a.Word, b.Word) })
	return out
}

func lookup(list []WordValue) map[string]float32 {
	out := make(map[string]float32, len(list))
	for _, e := range list {
		out[e.Word] = e.Value
	}
	return out
}

// packedSize is the bytes a feature takes in Packed.
const packedSize = 4 + 2*classes

// langGramBuckets is the size of the hashed character trigram table of LangGrams.
const langGramBuckets = 1 << 14

// The model is built from the labelled sentences next to the project (../shared/data).
//go:generate go run ../cmd/guyub train-sentiment --data ../../shared/data/sentiment --lexicons lexicons --portal testdata/portal-dev.tsv --out model.gob.gz

//go:embed model.gob.gz
var embeddedModel []byte

var defaultModel = sync.OnceValues(func() (*Model, error) { return ReadModel(bytes.NewReader(embeddedModel)) })

// DefaultModel is the model shipped in the binary, read on first use.
func DefaultModel() (*Model, error) { return defaultModel() }

// ReadModel reads a model written by WriteTo.
func ReadModel(r io.Reader) (*Model, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	var m Model
	if err := gob.NewDecoder(z).Decode(&m); err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if len(m.Packed)%packedSize != 0 || len(m.Dense) != denseCount*classes || len(m.LangGrams) != langGramBuckets {
		return nil, fmt.Errorf("read model: it was built for other settings")
	}
	m.unpack()
	m.lexicon, m.langWords = lookup(m.Lexicon), lookup(m.LangWords)
	return &m, nil
}

// unpack builds the table of weights from Packed.
func (m *Model) unpack() {
	n := len(m.Packed) / packedSize
	size := 1
	for size < 2*n {
		size *= 2
	}
	m.keys, m.vals = make([]uint32, size), make([]int16, size*classes)
	mask := uint32(size - 1)
	for f := range n {
		rec := m.Packed[f*packedSize : (f+1)*packedSize]
		i := binary.LittleEndian.Uint32(rec)
		slot := (i * 2654435761) & mask
		for m.keys[slot] != 0 {
			slot = (slot + 1) & mask
		}
		m.keys[slot] = i + 1
		for c := range classes {
			m.vals[int(slot)*classes+c] = int16(binary.LittleEndian.Uint16(rec[4+2*c:]))
		}
	}
}

// WriteTo writes the model, compressed.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	z, _ := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err := gob.NewEncoder(z).Encode(m); err != nil {
		return cw.n, err
	}
	err := z.Close()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// probabilities are the class probabilities of a vector; allowed, if not nil, restricts
// them to some classes (English training sentences are only positive or negative).
func (m *Model) probabilities(v *vector, allowed *[classes]bool) [classes]float32 {
	var logit [classes]float32
	for _, i := range v.idx {
		m.addWeights(i, &logit)
	}
	for c := range classes {
		logit[c] *= v.value
		for d := range denseCount {
			logit[c] += v.dense[d] * m.Dense[d*classes+c]
		}
	}
	return softmax(logit, allowed)
}

// addWeights adds a feature's weights to logit, if training saw it.
func (m *Model) addWeights(i uint32, logit *[classes]float32) {
	if m.training != nil {
		w := m.training[int(i)*classes : int(i)*classes+classes]
		for c := range classes {
			logit[c] += w[c]
		}
		return
	}
	mask := uint32(len(m.keys) - 1)
	for slot := (i * 2654435761) & mask; ; slot = (slot + 1) & mask {
		switch m.keys[slot] {
		case 0:
			return
		case i + 1:
			for c := range classes {
				logit[c] += float32(m.vals[int(slot)*classes+c]) * m.Scale
			}
			return
		}
	}
}

// pack keeps the trained weights in Packed, and their table: those of features that weigh
// at least least in some class (the others change no answer, and make the model big).
func (m *Model) pack(least float32) {
	top := float32(0)
	for _, w := range m.training {
		top = max(top, abs(w))
	}
	m.Scale = top / math.MaxInt16
	m.Packed = m.Packed[:0]
	for i := 0; i*classes < len(m.training); i++ {
		w := m.training[i*classes : i*classes+classes]
		if max(abs(w[0]), abs(w[1]), abs(w[2])) < least || w[0] == 0 && w[1] == 0 && w[2] == 0 {
			continue
		}
		m.Packed = binary.LittleEndian.AppendUint32(m.Packed, uint32(i))
		for c := range classes {
			m.Packed = binary.LittleEndian.AppendUint16(m.Packed, uint16(int16(math.Round(float64(w[c]/m.Scale)))))
		}
	}
	m.training = nil
	m.unpack()
}

// Features counts the features the model weighs.
func (m *Model) Features() int { return len(m.Packed) / packedSize }

func abs(f float32) float32 { return max(f, -f) }

// positiveOrNegative restricts probabilities to the classes English training data has.
var positiveOrNegative = [classes]bool{true, false, true}

func softmax(logit [classes]float32, allowed *[classes]bool) [classes]float32 {
	top := float32(math.Inf(-1))
	for c := range classes {
		if (allowed == nil || allowed[c]) && logit[c] > top {
			top = logit[c]
		}
	}
	var p [classes]float32
	var sum float32
	for c := range classes {
		if allowed == nil || allowed[c] {
			p[c] = float32(math.Exp(float64(logit[c] - top)))
			sum += p[c]
		}
	}
	for c := range classes {
		p[c] /= sum
	}
	return p
}
