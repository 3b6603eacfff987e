package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// photoJPEG is a w×h JPEG carrying an EXIF block with a GPS position and the given
// orientation (1 upright, 6 turned: the camera was held on its side).
func photoJPEG(t testing.TB, w, h int, orientation byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, nil); err != nil {
		t.Fatal(err)
	}
	// An APP1 Exif segment (big-endian TIFF) with Orientation and a GPSInfo pointer, and a
	// marker string to look for after re-encoding.
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, first IFD at 8
		0, 2, // two entries
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, // Orientation SHORT
		0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38, // GPSInfo LONG → offset 38
		0, 0, 0, 0, // no next IFD
		0, 0, // empty GPS IFD at 38
	}
	tiff = append(tiff, []byte("GPS-SECRET-LAT-52.37")...)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte((len(app1) + 2) & 0xFF)}
	raw := plain.Bytes()
	out := append([]byte{}, raw[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, app1...)
	return append(out, raw[2:]...)
}

func newService(t *testing.T, storage media.Storage) *media.Service {
	t.Helper()
	return media.NewService(storetest.DB(t), storage)
}

func TestSave_ReencodesTurnsUprightAndStripsMetadata(t *testing.T) {
	ctx := context.Background()
	dir, err := media.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, dir)
	owner := bson.NewObjectID()
	src := photoJPEG(t, 2400, 1200, 6)
	if !bytes.Contains(src, []byte("GPS-SECRET")) {
		t.Fatal("the test photo carries no metadata")
	}
	p, err := s.Save(ctx, owner, media.KindPhoto, bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	// Orientation 6: the stored photo is upright, so taller than wide, and fits 1600.
	if p.Width != 800 || p.Height != 1600 {
		t.Errorf("stored %d×%d, want 800×1600 (turned upright, within %d)", p.Width, p.Height, media.MaxSide)
	}
	if !media.ValidKey(p.Key) || !strings.HasSuffix(p.Key, ".jpg") || p.Thumb == "" {
		t.Fatalf("photo = %+v", p)
	}
	stored := read(t, s, p.Key)
	if bytes.Contains(stored, []byte("GPS-SECRET")) || bytes.Contains(stored, []byte("Exif")) {
		t.Error("the stored photo kept the EXIF block")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(stored))
	if err != nil || format != "jpeg" || cfg.Width != 800 || cfg.Height != 1600 {
		t.Errorf("stored file: %v %s %d×%d", err, format, cfg.Width, cfg.Height)
	}
	thumb, _, err := image.DecodeConfig(bytes.NewReader(read(t, s, p.Thumb)))
	if err != nil || thumb.Height != media.ThumbSide {
		t.Errorf("thumbnail: %v %d×%d", err, thumb.Width, thumb.Height)
	}

	// The same picture again is the same file and record: a retry stores nothing new.
	again, err := s.Save(ctx, bson.NewObjectID(), media.KindPhoto, bytes.NewReader(src))
	if err != nil || again != p {
		t.Errorf("again = %+v, %v; want %+v", again, err, p)
	}
	got, err := s.Photos(ctx, []string{p.Key, p.Key})
	if err != nil || len(got) != 1 || got[0] != p {
		t.Errorf("Photos = %+v, %v", got, err)
	}
	if _, err := s.Photos(ctx, []string{"ab/" + strings.Repeat("ab", 32) + ".jpg"}); !errors.Is(err, media.ErrUnknown) {
		t.Errorf("a key never stored: %v", err)
	}
	if _, err := s.Photos(ctx, []string{"../../etc/passwd"}); !errors.Is(err, media.ErrUnknown) {
		t.Errorf("a made-up path: %v", err)
	}
	if _, _, _, err := s.Open(ctx, "../secret.jpg"); !errors.Is(err, media.ErrNotStored) {
		t.Errorf("Open outside the store: %v", err)
	}
}

func TestSave_AvatarIsASquareAndTransparencyStaysPNG(t *testing.T) {
	ctx := context.Background()
	dir, _ := media.NewDir(t.TempDir())
	s := newService(t, dir)
	a, err := s.Save(ctx, bson.NewObjectID(), media.KindAvatar, bytes.NewReader(photoJPEG(t, 900, 500, 1)))
	if err != nil || a.Width != media.AvatarSide || a.Height != media.AvatarSide || a.Thumb != "" {
		t.Errorf("avatar = %+v, %v", a, err)
	}
	logo := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	logo.Set(3, 3, color.NRGBA{200, 0, 0, 255}) // the rest transparent
	var buf bytes.Buffer
	_ = png.Encode(&buf, logo)
	p, err := s.Save(ctx, bson.NewObjectID(), media.KindPhoto, &buf)
	if err != nil || !strings.HasSuffix(p.Key, ".png") || p.Width != 40 || p.Thumb != "" {
		t.Errorf("transparent PNG = %+v, %v", p, err)
	}
	if media.ContentType(p.Key) != "image/png" {
		t.Error(media.ContentType(p.Key))
	}
}

func TestSave_RefusesWhatIsNotASafePicture(t *testing.T) {
	dir, _ := media.NewDir(t.TempDir())
	s := newService(t, dir)
	// A PNG header claiming 100,000 × 100,000 pixels: refused from the header, never decoded.
	var bomb bytes.Buffer
	_ = png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := bomb.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0})
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29])) // a valid header
	html := []byte("<html><script>alert(1)</script></html>")
	polyglot := append([]byte("GIF89a\x02\x00\x02\x00"), html...) // says GIF, is not one
	for name, tc := range map[string]struct {
		body []byte
		want error
	}{
		"html named photo.jpg":   {html, media.ErrNotAnImage},
		"a GIF header and HTML":  {polyglot, media.ErrNotAnImage},
		"a decompression bomb":   {b, media.ErrTooManyPx},
		"larger than allowed":    {append(photoJPEG(t, 8, 8, 1), make([]byte, media.MaxBytes)...), media.ErrTooLarge},
		"empty":                  {nil, media.ErrNotAnImage},
		"a JPEG cut in the half": {photoJPEG(t, 64, 64, 1)[:300], media.ErrNotAnImage},
	} {
		_, err := s.Save(context.Background(), bson.NewObjectID(), media.KindPhoto, bytes.NewReader(tc.body))
		if !errors.Is(err, tc.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// S3-compatible storage, against an S3 server speaking the real protocol over HTTP.
func TestS3_StoresAndServesThroughTheBucket(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	bucket, err := media.NewS3(ctx, media.S3Config{Endpoint: u.Host, Bucket: "guyub-uploads", AccessKey: "key",
		SecretKey: "secret", Region: "us-east-1", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, bucket)
	p, err := s.Save(ctx, bson.NewObjectID(), media.KindPhoto, bytes.NewReader(photoJPEG(t, 200, 100, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(read(t, s, p.Key))); err != nil || cfg.Width != 200 {
		t.Errorf("read back from the bucket: %v %+v", err, cfg)
	}
	if _, _, _, err := s.Open(ctx, "ab/"+strings.Repeat("cd", 32)+".jpg"); !errors.Is(err, media.ErrNotStored) {
		t.Errorf("a key not in the bucket: %v", err)
	}
}

func read(t *testing.T, s *media.Service, key string) []byte {
	t.Helper()
	f, size, _, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || int64(len(b)) != size {
		t.Fatalf("read %s: %d of %d bytes, %v", key, len(b), size, err)
	}
	return b
}
