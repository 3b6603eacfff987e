package apiv1

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/idempotency"
)

// idempotencyHeader names the key a client sends with an API write it may retry.
const idempotencyHeader = "Idempotency-Key"

// idempotent answers a retried API write — same caller, same Idempotency-Key, same request —
// with the first answer, without running it again (as Stripe's API does). Answers are kept
// for a day, whatever their status, except a 503 or 429: those refused the request before it
// did anything, so its retry runs.
func (a *API) idempotent(c *fiber.Ctx) error {
	key := c.Get(idempotencyHeader)
	keys := a.Idempotency
	u := web.User(c)
	if key == "" || keys == nil || u == nil || (c.Method() != fiber.MethodPost && c.Method() != fiber.MethodPatch) {
		return c.Next()
	}
	if len(key) > 255 || !web.CleanText([]byte(key)) {
		return errs.Field(idempotencyHeader, "api.idempotency_key_invalid")
	}
	req := idempotency.Request{Caller: u.ID.Hex(), Key: key, Method: c.Method(), Path: c.OriginalURL(), Body: c.Body()}
	ctx := c.UserContext()
	answer, err := keys.Begin(ctx, req)
	switch {
	case errors.Is(err, idempotency.ErrInFlight):
		c.Set(fiber.HeaderRetryAfter, "1")
		return errs.New(errs.ErrConflict, "api.idempotency_in_flight")
	case errors.Is(err, idempotency.ErrReused):
		return errs.Field(idempotencyHeader, "api.idempotency_key_reused")
	case err != nil:
		return err
	case answer != nil:
		c.Set("Idempotent-Replayed", "true")
		if answer.Location != "" {
			c.Set(fiber.HeaderLocation, answer.Location)
		}
		c.Set(fiber.HeaderContentType, answer.ContentType)
		return c.Status(answer.Status).Send(answer.Body)
	}

	if err := c.Next(); err != nil {
		// Answered here, so the answer stored is the one sent.
		if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	// Kept past the request's deadline: the answer is sent whatever happens here, and a
	// failure only costs the retry its replay.
	keep, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	resp := c.Response()
	if status := resp.StatusCode(); status == fiber.StatusServiceUnavailable || status == fiber.StatusTooManyRequests {
		err = keys.Abandon(keep, req)
	} else {
		err = keys.Finish(keep, req, idempotency.Answer{Status: resp.StatusCode(), ContentType: string(resp.Header.ContentType()),
			Location: string(resp.Header.Peek(fiber.HeaderLocation)), Body: bytes.Clone(resp.Body())})
	}
	if err != nil {
		a.Log.Warn("idempotency key not kept", "err", err)
	}
	return nil
}
