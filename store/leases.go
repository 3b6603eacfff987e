package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Leases let one instance of many do a job (the search sync, a daily job): the holder
// renews its lease while it works; if it dies, the lease expires and another takes over —
// at once, when the holder is provably dead (OwnerDead).
type Leases struct {
	coll *mongo.Collection
	now  func() time.Time
}

// NewLeases returns the leases on db.
func NewLeases(db *mongo.Database) *Leases {
	return &Leases{coll: db.Collection("leases"), now: func() time.Time { return time.Now().UTC() }}
}

// NewOwner names this process for leases: "machine/pid/random". The machine is the host
// name with a digest of the boot and the PID namespace, so that a pid means the same
// process to everyone with the same machine part; it lets a restarted process see that a
// holder on its own machine has died. The random part keeps two processes that reuse a pid
// (containers: pid 1 each) apart.
func NewOwner() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", machine(), os.Getpid(), b)
}

// machine is the host name and, where Linux tells them, a digest of the boot and the PID
// namespace: two containers with the same host name but their own pids differ here.
func machine() string {
	host, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	if len(boot) == 0 && ns == "" {
		return host
	}
	sum := sha256.Sum256([]byte(string(boot) + ns))
	return fmt.Sprintf("%s~%x", host, sum[:6])
}

// OwnerDead reports whether the lease holder owner is certainly gone, as seen from the
// process self: it ran on this machine (same host, boot and PID namespace) and its process
// no longer exists, or has this very process's pid (a container restarted: pid 1 again).
// Owners elsewhere are never declared dead; their leases expire.
func OwnerDead(owner, self string) bool {
	where, rest, ok := strings.Cut(owner, "/")
	pidText, _, ok2 := strings.Cut(rest, "/")
	selfWhere, _, _ := strings.Cut(self, "/")
	pid, err := strconv.Atoi(pidText)
	if !ok || !ok2 || err != nil || owner == self || where != selfWhere {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}

// lease is a lease document.
type lease struct {
	Owner string `bson:"owner"`
	Done  bool   `bson:"done"`
}

// Acquire takes or renews the named lease for owner, for ttl. It reports whether owner
// holds it now. Only a free or expired lease, one owner already holds, or one whose holder
// is dead can be taken; a lease marked Done is not taken until it expires.
func (l *Leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	now := l.now()
	held, err := l.take(ctx, bson.M{"_id": name, "$or": bson.A{
		bson.M{"owner": owner, "done": bson.M{"$ne": true}}, bson.M{"expires_at": bson.M{"$lt": now}}}}, owner, now.Add(ttl))
	if held || err != nil {
		return held, err
	}
	// Held by another: take it over if that holder has died (a crash, then a restart here).
	var cur lease
	if err := l.coll.FindOne(ctx, bson.M{"_id": name}).Decode(&cur); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	if cur.Done || !OwnerDead(cur.Owner, owner) {
		return false, nil
	}
	return l.take(ctx, bson.M{"_id": name, "owner": cur.Owner, "done": bson.M{"$ne": true}}, owner, now.Add(ttl))
}

// take sets owner on the lease filter selects, inserting it if there is none.
func (l *Leases) take(ctx context.Context, filter bson.M, owner string, until time.Time) (bool, error) {
	_, err := l.coll.UpdateOne(ctx, filter, bson.M{"$set": bson.M{"owner": owner, "expires_at": until, "done": false}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil // held by another: the upsert's insert collided
	}
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", filter["_id"], err)
	}
	return true, nil
}

// Done marks the lease's work finished, if owner holds it: nobody takes it again until it
// expires (a daily job's lease, for the rest of its day).
func (l *Leases) Done(ctx context.Context, name, owner string) error {
	_, err := l.coll.UpdateOne(ctx, bson.M{"_id": name, "owner": owner}, bson.M{"$set": bson.M{"done": true}})
	return err
}

// Release gives the lease up, if owner holds it.
func (l *Leases) Release(ctx context.Context, name, owner string) error {
	_, err := l.coll.DeleteOne(ctx, bson.M{"_id": name, "owner": owner})
	return err
}
