package mail

import "context"

// Claim is claim, for a test of two senders at once.
func (o *Outbox) Claim(ctx context.Context, due []*Message) ([]*Message, error) {
	c, err := o.claim(ctx, due)
	return c.messages, err
}
