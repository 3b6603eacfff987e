package mail_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/guyub/guyub/internal/smtptest"
)

// What a write that queues a message pays: one insert into the outbox.
func BenchmarkOutbox_Queue(b *testing.B) {
	o, _ := newOutbox(b, nil)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if err := o.Account(ctx, "a@example.com", "en", "reset", "k"+strconv.Itoa(i), "/reset/x", true); err != nil {
			b.Fatal(err)
		}
	}
}

// How fast the worker sends to a local SMTP server, a connection per message.
func BenchmarkOutbox_SendSMTP(b *testing.B) {
	server := smtptest.Start(b)
	o, _ := newOutbox(b, server)
	ctx := context.Background()
	for i := range b.N {
		if err := o.Account(ctx, "a@example.com", "en", "reset", "k"+strconv.Itoa(i), "/reset/x", true); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := o.Pass(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := len(server.Received("")); got != b.N {
		b.Fatalf("%d of %d sent", got, b.N)
	}
}
