// Package media keeps the pictures members upload: avatars, photos on reviews and images
// in posts. Nothing is kept as it was sent: the content is sniffed (the name and the
// Content-Type header are never believed), decoded, turned upright, resized and encoded
// anew, which also drops every bit of metadata (EXIF, GPS, comments). The stored file is
// named by the hash of its bytes, so uploading the same picture twice stores it once and
// a URL never changes meaning: it can be cached for a year.
package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // decode GIF uploads (the first frame)
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/disintegration/imaging"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	_ "golang.org/x/image/webp" // decode WebP uploads; they are stored as JPEG or PNG

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Kind is what a picture is for; it decides its size.
type Kind string

const (
	KindAvatar Kind = "avatar" // a square, cropped to the middle
	KindPhoto  Kind = "photo"  // a review's photo or a post's image, its shape kept
)

// Limits of an upload.
const (
	MaxBytes     = 8 << 20    // one file as sent
	MaxPixels    = 40_000_000 // decoded: refuses decompression bombs before decoding
	MaxSide      = 1600       // a photo's longer side as stored
	ThumbSide    = 320        // a photo's small version, shown in lists
	AvatarSide   = 256
	jpegQuality  = 85
	MaxPerReview = 5
)

// Photo is a stored picture as content refers to it.
type Photo struct {
	Key    string `bson:"key" json:"key"`
	Thumb  string `bson:"thumb,omitempty" json:"thumb,omitempty"`
	Width  int    `bson:"w" json:"width"`
	Height int    `bson:"h" json:"height"`
}

// URL is where the picture is served, from our own origin.
func (p Photo) URL() string { return URLOf(p.Key) }

// ThumbURL is the small version's address (the picture itself when it is small already).
func (p Photo) ThumbURL() string {
	if p.Thumb == "" {
		return p.URL()
	}
	return URLOf(p.Thumb)
}

// ThumbWidth and ThumbHeight are the small version's size, for the page's layout.
func (p Photo) ThumbWidth() int { w, _ := p.thumbSize(); return w }

// ThumbHeight: see ThumbWidth.
func (p Photo) ThumbHeight() int { _, h := p.thumbSize(); return h }

func (p Photo) thumbSize() (int, int) {
	if p.Thumb == "" || p.Width <= 0 || p.Height <= 0 {
		return p.Width, p.Height
	}
	if p.Width >= p.Height {
		return ThumbSide, max(1, p.Height*ThumbSide/p.Width)
	}
	return max(1, p.Width*ThumbSide/p.Height), ThumbSide
}

// URLOf is the address a stored file is served at.
func URLOf(key string) string { return "/media/" + key }

// keyPattern is every name this package gives a file: two hex digits of the hash as a
// directory, then the whole hash and the format.
var keyPattern = regexp.MustCompile(`^[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|png)$`)

// inText finds this portal's pictures in text (a post's Markdown).
var inText = regexp.MustCompile(`/media/([0-9a-f]{2}/[0-9a-f]{64}\.(?:jpg|png))`)

// KeysIn lists the stored pictures text shows, in order, each once.
func KeysIn(text string) []string {
	var out []string
	for _, m := range inText.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// ValidKey reports whether key is a name this package could have given.
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

// ContentType is the type a stored file is served with, from its name (which we chose).
func ContentType(key string) string {
	if len(key) > 4 && key[len(key)-4:] == ".png" {
		return "image/png"
	}
	return "image/jpeg"
}

// Errors of uploading, each a 4xx with a message for the field.
var (
	ErrNotAnImage = errs.New(errs.ErrInvalid, "media.not_image")
	ErrTooLarge   = errs.New(errs.ErrInvalid, "media.too_large", "MaxMB", MaxBytes>>20)
	ErrTooManyPx  = errs.New(errs.ErrInvalid, "media.too_many_pixels", "MaxMP", MaxPixels/1_000_000)
	ErrUnknown    = errs.New(errs.ErrInvalid, "media.unknown")
)

// Storage keeps the files: a directory on the embedded default, S3 in production.
type Storage interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	// Open returns the file, its size and when it was stored; ErrNotStored if there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, time.Time, error)
}

// ErrNotStored is what Storage.Open returns for a key it does not hold.
var ErrNotStored = errors.New("media: not stored")

// Service stores uploads and remembers who sent each.
type Service struct {
	storage Storage
	uploads *mongo.Collection
	now     func() time.Time
}

// NewService stores files in storage and their records in db's "uploads".
func NewService(db *mongo.Database, storage Storage) *Service {
	return &Service{storage: storage, uploads: db.Collection("uploads"), now: time.Now}
}

// Indexes: a member's uploads, for their download and erasure.
var Indexes = []store.Indexes{{Collection: "uploads", Models: []mongo.IndexModel{{Keys: bson.D{{Key: "owner_id", Value: 1}}}}}}

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{{Collection: "uploads", Field: "owner_id", Keep: true}} // pictures in kept content

// upload is the record of one stored file, read back by _id alone.
type upload struct {
	Key       string        `bson:"_id"`
	Thumb     string        `bson:"thumb,omitempty"`
	Width     int           `bson:"w"`
	Height    int           `bson:"h"`
	Kind      Kind          `bson:"kind"`
	OwnerID   bson.ObjectID `bson:"owner_id"` // who sent it first
	CreatedAt time.Time     `bson:"created_at"`
}

// Save checks, re-encodes and stores one uploaded picture for owner. The same picture sent
// again (a retry, a double click) is stored once and gets the same Photo.
func (s *Service) Save(ctx context.Context, owner bson.ObjectID, kind Kind, r io.Reader) (Photo, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return Photo{}, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxBytes {
		return Photo{}, ErrTooLarge
	}
	img, err := decode(data)
	if err != nil {
		return Photo{}, err
	}
	var main, thumb image.Image
	if kind == KindAvatar {
		main = imaging.Fill(img, AvatarSide, AvatarSide, imaging.Center, imaging.Lanczos)
	} else {
		main = fit(img, MaxSide)
		if b := main.Bounds(); b.Dx() > ThumbSide || b.Dy() > ThumbSide {
			thumb = fit(main, ThumbSide) // from the resized one: a fifth of the pixels to read
		}
	}
	photo := Photo{Width: main.Bounds().Dx(), Height: main.Bounds().Dy()}
	if photo.Key, err = s.put(ctx, main); err != nil {
		return Photo{}, err
	}
	if thumb != nil {
		if photo.Thumb, err = s.put(ctx, thumb); err != nil {
			return Photo{}, err
		}
	}
	rec := upload{Key: photo.Key, Thumb: photo.Thumb, Width: photo.Width, Height: photo.Height, Kind: kind,
		OwnerID: owner, CreatedAt: s.now()}
	if _, err := s.uploads.InsertOne(ctx, rec); err != nil && !mongo.IsDuplicateKeyError(err) {
		return Photo{}, fmt.Errorf("record upload: %w", err)
	}
	return photo, nil
}

// Photos looks up stored pictures by key, for content that names them (a form's kept
// photos, an API call): a key that was never stored is a field error, never a broken
// picture on a page. A few point reads by _id, the one query every store answers from
// its index.
func (s *Service) Photos(ctx context.Context, keys []string) ([]Photo, error) {
	out := make([]Photo, 0, len(keys))
	seen := map[string]bool{}
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		if !ValidKey(key) {
			return nil, ErrUnknown
		}
		u, err := store.FindOne[upload](ctx, s.uploads, bson.M{"_id": key}, ErrUnknown)
		if err != nil {
			return nil, err
		}
		out = append(out, Photo{Key: u.Key, Thumb: u.Thumb, Width: u.Width, Height: u.Height})
	}
	return out, nil
}

// Open returns a stored file for serving.
func (s *Service) Open(ctx context.Context, key string) (io.ReadCloser, int64, time.Time, error) {
	if !ValidKey(key) {
		return nil, 0, time.Time{}, ErrNotStored
	}
	return s.storage.Open(ctx, key)
}

// decode sniffs and decodes an upload. The first bytes must say it is a picture in a
// format we read, and its size is checked from the header before the pixels are decoded.
func decode(data []byte) (image.Image, error) {
	switch http.DetectContentType(data) {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return nil, ErrNotAnImage
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, ErrNotAnImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrNotAnImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, ErrTooManyPx
	}
	// AutoOrientation applies the EXIF orientation, so a phone's photo is not stored on
	// its side once the EXIF is gone.
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, ErrNotAnImage
	}
	return img, nil
}

// fit shrinks img so its longer side is at most side, keeping its shape.
func fit(img image.Image, side int) image.Image {
	b := img.Bounds()
	if b.Dx() <= side && b.Dy() <= side {
		return img
	}
	// Catmull-Rom: as sharp as Lanczos to the eye when shrinking photos, at about half the
	// cost (measured by BenchmarkSave).
	return imaging.Fit(img, side, side, imaging.CatmullRom)
}

// put encodes img (JPEG, or PNG when it has transparency) and stores it under its hash.
func (s *Service) put(ctx context.Context, img image.Image) (string, error) {
	var buf bytes.Buffer
	ext := "jpg"
	if opaque(img) {
		if err := jpeg.Encode(&buf, flatten(img), &jpeg.Options{Quality: jpegQuality}); err != nil {
			return "", fmt.Errorf("encode photo: %w", err)
		}
	} else {
		ext = "png"
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, img); err != nil {
			return "", fmt.Errorf("encode photo: %w", err)
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	h := hex.EncodeToString(sum[:])
	key := h[:2] + "/" + h + "." + ext
	if err := s.storage.Put(ctx, key, buf.Bytes(), ContentType(key)); err != nil {
		return "", fmt.Errorf("store photo: %w", err)
	}
	return key, nil
}

// opaque reports whether every pixel of img is fully opaque.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return true
}

// flatten draws img on white, for the formats (paletted GIF frames) JPEG cannot take as
// they are.
func flatten(img image.Image) image.Image {
	if _, ok := img.(*image.Paletted); !ok {
		return img
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Over)
	return out
}

// AsField puts an upload's error on a form's field, so it is shown next to it.
func AsField(field string, err error) error {
	var e *errs.Error
	if errors.As(err, &e) && errors.Is(err, errs.ErrInvalid) {
		return errs.Field(field, e.Message.ID, e.Message.Args...)
	}
	return err
}

// MarshalJSON gives API clients the addresses along with the key.
func (p Photo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key      string `json:"key"`
		URL      string `json:"url"`
		ThumbURL string `json:"thumb_url"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	}{p.Key, p.URL(), p.ThumbURL(), p.Width, p.Height})
}
