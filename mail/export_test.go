package mail

import "context"

// Claim is claim, for a test of two senders at once.
func (o *Outbox) Claim(ctx context.Context, due []*Message) ([]*Message, error) {
	return o.claim(ctx, due)
}
