package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Dir keeps files in a directory: the embedded default's $GUYUB_DATA/uploads.
type Dir struct{ root string }

// NewDir keeps files under root, creating it.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("uploads directory: %w", err)
	}
	return &Dir{root: root}, nil
}

// Put writes the file whole or not at all: to a temporary name first, then renamed.
func (d *Dir) Put(_ context.Context, key string, data []byte, _ string) error {
	path := filepath.Join(d.root, filepath.FromSlash(key))
	if _, err := os.Stat(path); err == nil {
		return nil // named by its hash: the same bytes are there already
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; left only by a failure
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Open opens a stored file.
func (d *Dir) Open(_ context.Context, key string) (io.ReadCloser, int64, time.Time, error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, time.Time{}, ErrNotStored
	}
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, time.Time{}, err
	}
	return f, info.Size(), info.ModTime(), nil
}

// S3Config is where S3-compatible storage is (AWS S3, MinIO, R2, Spaces, …).
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	Insecure  bool // plain HTTP, for a local MinIO
}

// S3 keeps files in a bucket. The portal still serves them from its own origin, so the
// Content-Security-Policy stays self-only and the bucket can stay private.
type S3 struct {
	client *minio.Client
	bucket string
}

// NewS3 connects to the bucket, creating it if it does not exist.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", cfg.Bucket, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("s3 make bucket %s: %w", cfg.Bucket, err)
		}
	}
	return &S3{client: client, bucket: cfg.Bucket}, nil
}

// Put uploads a file.
func (s *S3) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, CacheControl: "public, max-age=31536000, immutable"})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	return nil
}

// Open downloads a file as it is read.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, int64, time.Time, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("s3 get %s: %w", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, 0, time.Time{}, ErrNotStored
		}
		return nil, 0, time.Time{}, fmt.Errorf("s3 get %s: %w", key, err)
	}
	return obj, info.Size, info.LastModified, nil
}
