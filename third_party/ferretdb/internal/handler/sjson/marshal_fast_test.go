// Copyright 2021 FerretDB Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package sjson

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// Guyub: Marshal writes exactly what upstream's code writes, for every kind of value, key
// and number, and for many random documents; and Unmarshal reads it back.
func TestMarshalFast_AsUpstream(t *testing.T) {
	doc := func(pairs ...any) *types.Document { return must.NotFail(types.NewDocument(pairs...)) }
	arr := func(values ...any) *types.Array { return must.NotFail(types.NewArray(values...)) }

	docs := map[string]*types.Document{
		"empty": doc(),
		"scalars": doc("_id", types.ObjectID{1, 0xab, 0xff}, "s", "x", "d", 1.5, "b", true, "f", false, "t", time.UnixMilli(-1),
			"n", types.Null, "i", int32(-7), "l", int64(math.MaxInt64), "ts", types.Timestamp(3)),
		"binary and regex": doc("bin", types.Binary{B: []byte{1, 2}, Subtype: types.BinaryUser},
			"re", types.Regex{Pattern: `a"<b>`, Options: `i"m`}),
		"nested": doc("a", doc("b", doc(), "c", arr()), "list", arr(doc("x", int32(1)), arr(int64(1), "y"), doc("x", int32(2)))),
		"odd keys and strings": doc("k", doc(`quo"te`, "1", "<html>&", "2", "ünï", "3", "tab\tkey", "\u2028", "back\\slash", "\x7f"),
			"s", arr("é", "a<b", "\x00", "bad \xff utf8", "~", " ")),
		"numbers": doc("n", arr(0.0, math.Copysign(0, -1), 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, -2.5e-300, 123456789.125,
			math.SmallestNonzeroFloat64, math.MaxFloat64, 0.1, 1.0/3)),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		docs["random "+string(rune('a'+i%26))+string(rune('a'+i/26))] = randomDoc(rng, 0)
	}

	for name, d := range docs {
		want, err := marshalSlow(d)
		if err != nil {
			t.Fatal(err)
		}

		got, err := Marshal(d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		if string(got) != string(want) {
			t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
			continue
		}

		back, err := Unmarshal(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		if again, _ := Marshal(back); string(again) != string(got) {
			t.Errorf("%s: read back as\n%s\nwritten %s", name, again, got)
		}
	}
}

func randomDoc(rng *rand.Rand, depth int) *types.Document {
	d := types.MakeDocument(0)
	for i := range rng.IntN(6) {
		d.Set(randomString(rng)+string(rune('a'+i)), randomValue(rng, depth+1))
	}

	return d
}

func randomValue(rng *rand.Rand, depth int) any {
	n := 9
	if depth < 4 {
		n = 11
	}

	switch rng.IntN(n) {
	case 0:
		return randomString(rng)
	case 1:
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(0x7ff))<<52) // finite, any magnitude
	case 2:
		return float64(rng.IntN(1000)) / 8
	case 3:
		return int32(rng.Int32() - math.MaxInt32/2)
	case 4:
		return rng.Int64() - math.MaxInt64/2
	case 5:
		return rng.IntN(2) == 0
	case 6:
		return time.UnixMilli(rng.Int64N(1 << 42)).UTC()
	case 7:
		var id types.ObjectID
		for i := range id {
			id[i] = byte(rng.IntN(256))
		}
		return id
	case 8:
		return types.Null
	case 9:
		return randomDoc(rng, depth)
	default:
		a := types.MakeArray(0)
		for range rng.IntN(5) {
			a.Append(randomValue(rng, depth+1))
		}
		return a
	}
}

func randomString(rng *rand.Rand) string {
	const letters = "abcXYZ09 _-.<>&\"\\é\t\u2028"
	runes := []rune(letters)
	s := make([]rune, rng.IntN(8))
	for i := range s {
		s[i] = runes[rng.IntN(len(runes))]
	}

	return string(s)
}

func BenchmarkMarshal(b *testing.B) {
	// Shaped like a customer's record: plain keys and text, arrays of small objects.
	rng := rand.New(rand.NewPCG(3, 4))
	point := func() *types.Document {
		return must.NotFail(types.NewDocument("at", time.UnixMilli(rng.Int64N(1<<42)), "score", int32(rng.IntN(100)),
			"s", rng.Float64()*100, "w", rng.Float64()))
	}
	trail := types.MakeArray(0)
	for range 12 {
		trail.Append(point())
	}
	d := must.NotFail(types.NewDocument("_id", types.ObjectID{1, 2, 3}, "email", "ayu@example.com", "display_name", "Ayu Lestari",
		"roles", must.NotFail(types.NewArray("customer")), "satisfaction", point(), "score_trail", trail, "version", int32(7),
		"counters", must.NotFail(types.NewDocument("posts", int32(4), "reviews", int32(2), "threads", int32(1)))))

	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = Marshal(d)
		}
	})
	b.Run("upstream", func(b *testing.B) {
		for b.Loop() {
			_, _ = marshalSlow(d)
		}
	})
}
