package media_test

import (
	"bytes"
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/store/storetest"
)

// BenchmarkSave is what one phone photo (4000×3000, 12 megapixels) costs: sniffing,
// decoding, turning upright, resizing to 1600 px and 320 px, encoding both and storing.
func BenchmarkSave(b *testing.B) {
	dir, err := media.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s := media.NewService(storetest.DB(b), dir)
	photo := photoJPEG(b, 4000, 3000, 6)
	b.SetBytes(int64(len(photo)))
	b.ResetTimer()
	for range b.N {
		if _, err := s.Save(context.Background(), bson.NewObjectID(), media.KindPhoto, bytes.NewReader(photo)); err != nil {
			b.Fatal(err)
		}
	}
}
