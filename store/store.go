// Package store owns the MongoDB connection: a MongoDB URI in production, or FerretDB
// running in-process on SQLite (the embedded default), plus the declaration of indexes.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

// embeddedPoolSize bounds the connections to the embedded server.
const embeddedPoolSize = 16

// DefaultDatabase is used when the MongoDB URI names no database.
const DefaultDatabase = "guyub"

// AddressFile is written under the data directory by an embedded server, so that a
// second process (an admin command) can connect to it instead of opening the same files.
const AddressFile = "embedded-mongodb.uri"

// FullScanMessage is what the embedded server logs (at warning level, with the attributes db,
// collection and sql) the first time a query reads a whole collection because no index
// serves it. Tests fail on it; in production it names the index to add.
const FullScanMessage = "query reads a whole collection: no index serves it"

// ErrDataDirInUse means another process already runs an embedded server on the data directory.
var ErrDataDirInUse = errors.New("data directory is in use by another guyub process")

// Config selects the database: URI when set, otherwise an embedded FerretDB under DataDir.
type Config struct {
	URI     string // MONGODB_URI
	DataDir string // GUYUB_DATA: the SQLite files live in DataDir/db
	Logger  *slog.Logger
	Monitor *event.CommandMonitor // optional: sees every command the driver sends (tests count them)
}

// Store is an open connection to the database.
type Store struct {
	Client   *mongo.Client
	DB       *mongo.Database
	URI      string // the URI the driver connected to (the embedded server's, when embedded)
	Embedded bool
	// Crashed: the embedded database's last process died without stopping, so what it
	// was doing may be half done (counters a write did not reach). Always false on MongoDB,
	// where other instances come and go.
	Crashed bool

	stopEmbedded func()
	dbDir        string // the embedded database's files
	writes       *writeWatch
}

// EmbeddedLimit is the size of embedded database this project measures (guyub bench at the
// medium scale runs on 2.0–2.1 GiB, half a GiB of it the emails kept in the outbox with no
// mail server): past it, the figures in the README no longer hold and a growing community
// should move to MongoDB (guyub migrate).
const EmbeddedLimit = 3 << 30

// EmbeddedSize is the size of the embedded database's files, 0 on MongoDB.
func (s *Store) EmbeddedSize() int64 {
	if !s.Embedded {
		return 0
	}
	var n int64
	entries, _ := os.ReadDir(s.dbDir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// CheckSize reports an error when the embedded database is past EmbeddedLimit.
func (s *Store) CheckSize(context.Context) error {
	if n := s.EmbeddedSize(); n > EmbeddedLimit {
		return fmt.Errorf("the embedded database holds %.1f GiB, past the %d GiB its figures hold for", float64(n)/(1<<30), EmbeddedLimit>>30)
	}
	return nil
}

// ValidateURI checks a MongoDB URI without connecting, so configuration errors show at start.
func ValidateURI(uri string) error {
	_, err := connstring.ParseAndValidate(uri)
	return err
}

// Open connects to the configured database, starting the embedded server when no URI is set.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{URI: cfg.URI, stopEmbedded: func() {}, writes: &writeWatch{}}
	var dialer options.ContextDialer
	if s.URI == "" {
		uri, stop, inProcess, crashed, err := startEmbedded(cfg.DataDir, logger)
		if err != nil {
			return nil, err
		}
		dialer = inProcess
		s.URI, s.Embedded, s.stopEmbedded, s.Crashed = uri, true, stop, crashed
		s.dbDir = filepath.Join(cfg.DataDir, "db")
		if cfg.DataDir == "" {
			s.dbDir = filepath.Join("data", "db")
		}
	}
	client, db, err := connect(s.URI, dialer, s.writes.monitor(cfg.Monitor))
	if err != nil {
		s.stopEmbedded()
		return nil, err
	}
	s.Client, s.DB = client, db
	return s, nil
}

// Connect opens a driver client for uri and returns the database the URI names (or DefaultDatabase).
// The driver connects lazily; use Ping to know whether the server answers.
func Connect(uri string) (*mongo.Client, *mongo.Database, error) {
	return connect(uri, nil, nil)
}

// connect opens the client; embedded is the in-process dialer of the embedded server, nil for
// another server. The embedded FerretDB is this project's fork (third_party/ferretdb): it
// serialises the read-modify-write of updates per collection, so every update is atomic as
// on MongoDB and the client may use many connections: reads never queue behind a write.
func connect(uri string, embedded options.ContextDialer, monitor *event.CommandMonitor) (*mongo.Client, *mongo.Database, error) {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, nil, fmt.Errorf("MONGODB_URI: %w", err)
	}
	// The default wait for a server is 30 s; 5 s fails faster. A URI that sets its own wins.
	opts := options.Client().SetServerSelectionTimeout(5 * time.Second).ApplyURI(uri)
	if monitor != nil {
		opts.SetMonitor(monitor)
	}
	if embedded != nil {
		// Each connection is a goroutine in this process; more than the cores can run
		// only adds queueing inside SQLite. They are in-memory pipes, not sockets.
		opts.SetMaxPoolSize(embeddedPoolSize).SetDialer(embedded)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	name := cs.Database
	if name == "" {
		name = DefaultDatabase
	}
	return client, client.Database(name), nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Client.Ping(ctx, readpref.Primary())
}

// Close disconnects and stops the embedded server, if any.
func (s *Store) Close(ctx context.Context) error {
	err := s.Client.Disconnect(ctx)
	s.stopEmbedded()
	return err
}

// startEmbedded runs FerretDB with the SQLite handler on a Unix socket only this user can
// reach. A lock file keeps a second process from opening the same SQLite files; the URI is
// recorded beside it, for admin commands that join a running server.
func startEmbedded(dataDir string, logger *slog.Logger) (uri string, stop func(), inProcess options.ContextDialer, crashed bool, err error) {
	if dataDir == "" {
		dataDir = "data"
	}
	dbDir, err := filepath.Abs(filepath.Join(dataDir, "db"))
	if err != nil {
		return "", nil, nil, false, err
	}
	// Only this user may reach the data: the directory is private (also one an earlier
	// version made 0750), and the database listens on a Unix socket in it, not on a TCP port
	// that any local user could connect to.
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return "", nil, nil, false, fmt.Errorf("GUYUB_DATA: %w", err)
	}
	for _, dir := range []string{dataDir, dbDir} {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", nil, nil, false, fmt.Errorf("GUYUB_DATA: %w", err)
		}
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return "", nil, nil, false, err
	}
	sock, removeSock, err := socketPath(filepath.Dir(dbDir))
	if err != nil {
		unlock()
		return "", nil, nil, false, err
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{Unix: sock},
		Handler:  "sqlite",
		// WAL with synchronous=NORMAL: a commit is safe from a crash of this process (the
		// kill -9 tests), and only a power cut can lose the last moments; FULL would fsync on
		// every commit and halve the writes a second.
		SQLiteURL: (&url.URL{Scheme: "file", Path: dbDir + "/", RawQuery: "_pragma=synchronous(normal)"}).String(),
		// FerretDB logs every connection at info level; only its warnings matter to us.
		Logger: slog.New(quietHandler{logger.Handler()}),
	})
	if err != nil {
		removeSock()
		unlock()
		return "", nil, nil, false, fmt.Errorf("start embedded FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	_ = f.MongoDBURI() // blocks until the listener is up
	if err := os.Chmod(sock, 0o600); err != nil {
		logger.Warn("cannot make the database socket private", "socket", sock, "err", err)
	}
	uri = "mongodb://" + url.PathEscape(sock) + "/"
	addrFile := filepath.Join(dataDir, AddressFile)
	// A clean stop removes the address; holding the lock, finding it means the last
	// process on this directory died without stopping (kill -9, a power cut).
	if _, err := os.Stat(addrFile); err == nil {
		crashed = true
	}
	if err := os.WriteFile(addrFile, []byte(uri+"\n"), 0o600); err != nil {
		logger.Warn("cannot record the embedded database address", "file", addrFile, "err", err)
	}
	stop = func() {
		cancel()
		<-done
		_ = os.Remove(addrFile)
		removeSock()
		unlock()
	}
	return uri, stop, f, crashed, nil
}

// socketPath is where the embedded server's Unix socket goes: in the data directory, unless
// its path is too long for a socket (about 100 bytes), then in a private temporary directory.
// A socket file left by a process that died is removed (the data directory lock is ours).
func socketPath(dataDir string) (path string, remove func(), err error) {
	path = filepath.Join(dataDir, "mongodb.sock")
	remove = func() { _ = os.Remove(path) }
	if len(path) > 100 {
		dir, err := os.MkdirTemp("", "guyub-db-")
		if err != nil {
			return "", nil, fmt.Errorf("database socket: %w", err)
		}
		path = filepath.Join(dir, "mongodb.sock")
		remove = func() { _ = os.RemoveAll(dir) }
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("database socket: %w", err)
	}
	return path, remove, nil
}

// EmbeddedURI returns the address a running embedded server recorded under dataDir, if any.
func EmbeddedURI(dataDir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, AddressFile))
	if err != nil {
		return "", false
	}
	uri := strings.TrimSpace(string(b))
	return uri, uri != ""
}

// lockDataDir takes an exclusive advisory lock that the kernel releases if the process dies.
func lockDataDir(dataDir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "guyub.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("GUYUB_DATA: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("GUYUB_DATA %s: %w", dataDir, ErrDataDirInUse)
		}
		return nil, fmt.Errorf("GUYUB_DATA: lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// quietHandler passes on FerretDB's warnings and errors, less its dumps of every command
// that answered an error (a duplicate key, endSessions at shutdown): the driver hands those
// errors to the code that asked, which decides whether they matter.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "Response header:") || strings.HasPrefix(r.Message, "Response message:") ||
		strings.HasPrefix(r.Message, "Request header:") || strings.HasPrefix(r.Message, "Request message:") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}
func (h quietHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(a)}
}
func (h quietHandler) WithGroup(n string) slog.Handler { return quietHandler{h.Handler.WithGroup(n)} }
