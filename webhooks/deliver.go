package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
)

// Delivery states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed" // gave up after maxAttempts; an admin may redeliver
)

const (
	maxAttempts     = 8                // over about two hours: 30 s, 1, 2, 4, 8, 16, 32 minutes
	firstRetry      = 30 * time.Second // doubled after each failure
	disableAfter    = 20               // failed attempts in a row, whatever the events
	claimFor        = 2 * time.Minute  // a delivery in flight is not taken by another worker
	excerptLength   = 500
	deliveriesAPass = 50
)

// Attempt is one try at delivering, as the log shows it.
type Attempt struct {
	At       time.Time `bson:"at"`
	Code     int       `bson:"code,omitempty"` // the HTTP status; 0 when there was no answer
	Millis   int64     `bson:"ms"`
	Excerpt  string    `bson:"excerpt,omitempty"` // the start of the answer's body
	Error    string    `bson:"error,omitempty"`
	Manually bool      `bson:"manually,omitempty"`
}

// Delivery is one event for one endpoint: the outbox entry and its log.
type Delivery struct {
	ID         string        `bson:"_id"` // event and endpoint: an event told twice is delivered once
	EventID    string        `bson:"event_id"`
	EndpointID bson.ObjectID `bson:"endpoint_id"`
	Type       string        `bson:"type"`
	Payload    string        `bson:"payload"`
	// Subject is the member the event is about or by, so that their erasure finds it.
	Subject   string    `bson:"subject,omitempty"`
	Status    string    `bson:"status"`
	Attempts  []Attempt `bson:"attempts,omitempty"`
	NextAt    time.Time `bson:"next_at"`
	CreatedAt time.Time `bson:"created_at"`
}

// Event is something that happened, as an endpoint receives it.
type Event struct {
	ID        string         `json:"id"` // the same for every delivery, and every retry, of the event
	Type      string         `json:"type"`
	Version   int            `json:"version"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// eventID names an event by what caused it, so the same cause told twice is one event.
func eventID(cause string) string {
	sum := sha256.Sum256([]byte(cause))
	return "evt_" + hex.EncodeToString(sum[:12])
}

// Emit queues an event for every active endpoint that wants it: a delivery each, keyed by
// the event and the endpoint, so that emitting again (a retried write, the sync going over
// a batch again) queues nothing more. cause names what happened, uniquely.
func (s *Service) Emit(ctx context.Context, typ, cause string, data map[string]any) error {
	endpoints, err := s.active.Get(ctx)
	if err != nil {
		return err
	}
	var docs []any
	var ev *Event
	for _, e := range endpoints {
		if !e.Wants(typ) {
			continue
		}
		if ev == nil {
			ev = &Event{ID: eventID(cause), Type: typ, Version: PayloadVersion, Timestamp: s.now(), Data: data}
		}
		d, err := s.delivery(ev, e.ID)
		if err != nil {
			return err
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil
	}
	if _, err := store.InsertNew(ctx, s.deliveries, docs); err != nil {
		return fmt.Errorf("queue webhook: %w", err)
	}
	return nil
}

func (s *Service) delivery(ev *Event, endpoint bson.ObjectID) (Delivery, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook payload: %w", err)
	}
	now := s.now()
	subject, _ := ev.Data["author_id"].(string)
	if id, ok := ev.Data["customer_id"].(string); ok {
		subject = id
	}
	return Delivery{ID: ev.ID + ":" + endpoint.Hex(), EventID: ev.ID, EndpointID: endpoint, Type: ev.Type, Payload: string(body),
		Subject: subject, Status: StatusPending, NextAt: now, CreatedAt: now}, nil
}

// Forget removes the deliveries about or by a member (their erasure): their log goes, and
// what was not delivered yet is not.
func (s *Service) Forget(ctx context.Context, member bson.ObjectID) error {
	if _, err := s.deliveries.DeleteMany(ctx, bson.M{"subject": member.Hex()}); err != nil {
		return fmt.Errorf("forget webhooks: %w", err)
	}
	return nil
}

// Ping queues a test event for one endpoint, whatever it subscribes to.
func (s *Service) Ping(ctx context.Context, id bson.ObjectID) error {
	e, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	ev := &Event{ID: eventID(fmt.Sprintf("ping:%s:%d", e.ID.Hex(), s.now().UnixNano())), Type: Ping, Version: PayloadVersion,
		Timestamp: s.now(), Data: map[string]any{"endpoint": e.ID.Hex(), "message": "A test from the portal."}}
	d, err := s.delivery(ev, e.ID)
	if err != nil {
		return err
	}
	if _, err := s.deliveries.InsertOne(ctx, d); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Redeliver queues a delivery again, now, whatever became of it.
func (s *Service) Redeliver(ctx context.Context, endpoint bson.ObjectID, id string) error {
	res, err := s.deliveries.UpdateOne(ctx, bson.M{"_id": id, "endpoint_id": endpoint},
		bson.M{"$set": bson.M{"status": StatusPending, "next_at": s.now(), "manual": true}})
	if err != nil {
		return fmt.Errorf("redeliver: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// Log lists an endpoint's deliveries, newest first, a page at a time: before is the last
// delivery of the previous page.
func (s *Service) Log(ctx context.Context, endpoint bson.ObjectID, before *Delivery, limit int) ([]*Delivery, error) {
	filter := bson.M{"endpoint_id": endpoint}
	if before != nil {
		filter["$or"] = bson.A{bson.M{"created_at": bson.M{"$lt": before.CreatedAt}},
			bson.M{"created_at": before.CreatedAt, "_id": bson.M{"$lt": before.ID}}}
	}
	return store.FindAll[Delivery](ctx, s.deliveries, filter, options.Find().
		SetSort(bson.D{{Key: "endpoint_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
}

// Delivery reads one delivery of an endpoint.
func (s *Service) Delivery(ctx context.Context, endpoint bson.ObjectID, id string) (*Delivery, error) {
	return store.FindOne[Delivery](ctx, s.deliveries, bson.M{"_id": id, "endpoint_id": endpoint}, ErrNotFound)
}

// Pass delivers what is due: one indexed read when nothing is. Each delivery is claimed
// first, so that instances running the job at once deliver it once, and a worker that dies
// with a claim leaves it to be tried again after claimFor.
func (s *Service) Pass(ctx context.Context) error {
	due, err := store.FindAll[Delivery](ctx, s.deliveries, bson.M{"status": StatusPending, "next_at": bson.M{"$lte": s.now()}},
		options.Find().SetSort(bson.D{{Key: "status", Value: 1}, {Key: "next_at", Value: 1}}).SetLimit(deliveriesAPass).
			SetProjection(bson.M{"_id": 1, "next_at": 1}))
	if err != nil || len(due) == 0 {
		return err
	}
	list, err := s.List(ctx) // a handful, read once a pass
	if err != nil {
		return err
	}
	endpoints := map[bson.ObjectID]*Endpoint{}
	for _, e := range list {
		endpoints[e.ID] = e
	}
	// A few at a time: one slow receiver does not hold up the others.
	var wg sync.WaitGroup
	work := make(chan *Delivery)
	errs := make(chan error, len(due))
	for range 4 {
		wg.Go(func() {
			for d := range work {
				if err := s.deliverOne(ctx, d, endpoints); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, d := range due {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // the first failure of the database, if any (a receiver's failure is not one)
}

// deliverOne claims a due delivery, sends it and records the attempt.
func (s *Service) deliverOne(ctx context.Context, due *Delivery, endpoints map[bson.ObjectID]*Endpoint) error {
	now := s.now()
	var d Delivery
	err := s.deliveries.FindOneAndUpdate(ctx, bson.M{"_id": due.ID, "status": StatusPending, "next_at": due.NextAt},
		bson.M{"$set": bson.M{"next_at": now.Add(claimFor)}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil // another worker has it
	}
	if err != nil {
		return fmt.Errorf("claim webhook: %w", err)
	}
	e := endpoints[d.EndpointID]
	if e == nil {
		_, err = s.deliveries.DeleteOne(ctx, bson.M{"_id": d.ID}) // the endpoint is gone
		return err
	}
	if !e.Active && d.Type != Ping {
		// Kept for when the endpoint is turned on again.
		_, err := s.deliveries.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"next_at": now.Add(time.Hour)}})
		return err
	}
	a := s.send(ctx, e, &d)
	ok := a.Code >= 200 && a.Code < 300
	set := bson.M{}
	tries := len(d.Attempts) + 1
	switch {
	case ok:
		set["status"] = StatusDelivered
	case tries >= maxAttempts:
		set["status"] = StatusFailed
	default:
		set["next_at"] = now.Add(firstRetry << (tries - 1))
	}
	// The log keeps the last attempts only.
	if _, err := s.deliveries.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": set,
		"$push": bson.M{"attempts": bson.M{"$each": bson.A{a}, "$slice": -maxAttempts}}}); err != nil {
		return fmt.Errorf("webhook log: %w", err)
	}
	return s.count(ctx, e, ok)
}

// count keeps an endpoint's failures in a row, and disables it after too many: the admins
// are told.
func (s *Service) count(ctx context.Context, e *Endpoint, ok bool) error {
	if ok {
		if e.Failures == 0 {
			return nil
		}
		_, err := s.endpoints.UpdateOne(ctx, bson.M{"_id": e.ID}, bson.M{"$set": bson.M{"failures": 0}})
		return err
	}
	var after Endpoint
	err := s.endpoints.FindOneAndUpdate(ctx, bson.M{"_id": e.ID}, bson.M{"$inc": bson.M{"failures": 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if err != nil || after.Failures < disableAfter || !after.Active {
		return err
	}
	res, err := s.endpoints.UpdateOne(ctx, bson.M{"_id": e.ID, "active": true}, bson.M{"$set": bson.M{"active": false,
		"disabled": fmt.Sprintf("%d failed deliveries in a row", after.Failures), "updated_at": s.now()}})
	if err != nil || res.ModifiedCount == 0 {
		return err
	}
	s.active.Forget()
	if s.tell != nil {
		return s.tell(ctx, &after)
	}
	return nil
}

// send makes one attempt: a POST of the payload with the Standard Webhooks headers.
func (s *Service) send(ctx context.Context, e *Endpoint, d *Delivery) Attempt {
	start := time.Now()
	a := Attempt{At: s.now()}
	ts := strconv.FormatInt(a.At.Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, strings.NewReader(d.Payload))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Guyub-Webhooks/1")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", Sign(e.Secret, d.EventID, ts, []byte(d.Payload)))
	res, err := s.client.Do(req)
	a.Millis = time.Since(start).Milliseconds()
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, excerptLength))
	a.Code, a.Excerpt = res.StatusCode, strings.ToValidUTF8(string(body), "")
	return a
}

// Sign is the Standard Webhooks signature of a delivery: "v1," and the base64 HMAC-SHA256,
// keyed by the secret's bytes, of "id.timestamp.body".
func Sign(secret, id, timestamp string, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		key = []byte(secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// httpClient delivers, refusing (at connection time, so a name that resolves differently
// later is caught too) addresses the portal must not call.
type httpClient struct {
	*http.Client
	allowPrivate bool
	resolver     *net.Resolver
}

var errPrivate = errors.New("the address is private, loopback or link-local")

func newHTTPClient(cfg Config) *httpClient {
	c := &httpClient{allowPrivate: cfg.AllowPrivate, resolver: net.DefaultResolver}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || (!c.allowPrivate && private(ip)) {
			return errPrivate
		}
		return nil
	}}
	transport := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: cfg.Timeout}
	c.Client = &http.Client{Transport: transport, Timeout: cfg.Timeout,
		// A redirect is an answer: a receiver cannot send the portal elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// checkHost refuses a host that is, or resolves to, an address the portal must not call.
func (c *httpClient) checkHost(ctx context.Context, host string) error {
	if c.allowPrivate {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if private(ip) {
			return errPrivate
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return errPrivate
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := c.resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil // not resolvable now: refused at delivery if it resolves to a private address then
	}
	for _, a := range addrs {
		if private(a.IP) {
			return errPrivate
		}
	}
	return nil
}

// payloadOf is a payload's data with its fields in order, for the log.
func payloadOf(d *Delivery) string {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(d.Payload), "", "  "); err != nil {
		return d.Payload
	}
	return out.String()
}

// Pretty is the payload indented, for the log page.
func (d *Delivery) Pretty() string { return payloadOf(d) }

// Last is the latest attempt, if any.
func (d *Delivery) Last() *Attempt {
	if len(d.Attempts) == 0 {
		return nil
	}
	return &d.Attempts[len(d.Attempts)-1]
}
