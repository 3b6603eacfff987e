package handlers

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/moderation"
)

// A member's download of everything the portal stores about them (package exports): at
// once when it is small, otherwise prepared in the background and downloaded from its link.

// exportState is what the profile says of the member's download.
type exportState struct {
	Preparing bool
	Link      string // ready: where it downloads
	Expires   time.Time
}

func (s *Server) exportState(c *fiber.Ctx, member bson.ObjectID) (*exportState, error) {
	if s.deps.Exports == nil {
		return nil, nil
	}
	e, err := s.deps.Exports.Status(c.UserContext(), member)
	if err != nil || e == nil {
		return nil, err
	}
	if e.Status == exports.StatusPending {
		return &exportState{Preparing: true}, nil
	}
	return &exportState{Link: exportLink(e), Expires: e.ExpiresAt}, nil
}

// exportLink is where a prepared archive downloads: a new archive has a new link.
func exportLink(e *exports.Export) string {
	return "/exports/" + e.Member.Hex() + "/" + strconv.Itoa(e.Attempt)
}

// profileExport answers "download my data": small data is the file itself, as the download
// always was; larger data is prepared in the background when asked with the profile's form
// (a POST), and the member is told when it is ready. A GET (an old link) never starts that.
func (s *Server) profileExport(c *fiber.Ctx) error {
	if s.deps.Exports == nil {
		return fiber.ErrNotFound
	}
	u := web.User(c)
	ctx := c.UserContext()
	var direct bool
	var err error
	if c.Method() == fiber.MethodPost {
		direct, err = s.deps.Exports.Request(ctx, u.ID)
	} else {
		direct, err = s.deps.Exports.Small(ctx, u.ID)
	}
	if err != nil {
		return err
	}
	if !direct {
		if c.Method() == fiber.MethodPost {
			s.flash(c, "flash.export_preparing")
		} else {
			s.flash(c, "flash.export_large")
		}
		return c.Redirect("/profile#your-data", fiber.StatusSeeOther)
	}
	// Small: held whole, so that a failure is an error page rather than half a file.
	var out bytes.Buffer
	if err := s.deps.Exports.Write(ctx, &out, u.ID); err != nil {
		return err
	}
	archiveHeaders(c, u.ID)
	return c.Send(out.Bytes())
}

// accountExport downloads a member's data for an admin, on the member's request to the
// company: at once when it is small; otherwise it is prepared in the background (the member
// is told too) and the same button downloads it once ready. The audit log keeps the fact.
func (s *Server) accountExport(c *fiber.Ctx) error {
	if s.deps.Exports == nil {
		return fiber.ErrNotFound
	}
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if _, err := s.deps.Customers.Get(ctx, id); err != nil {
		return err
	}
	audit := func() error {
		return s.deps.Moderation.Append(ctx, moderation.Entry{Actor: web.User(c).ID, Action: moderation.ActionDataExport, TargetAuthor: id})
	}
	if e, err := s.deps.Exports.Status(ctx, id); err != nil {
		return err
	} else if e != nil && e.Ready(time.Now()) {
		return c.Redirect(exportLink(e), fiber.StatusSeeOther) // the download keeps the fact
	}
	direct, err := s.deps.Exports.Request(ctx, id)
	if err != nil {
		return err
	}
	if !direct {
		return s.backToAccounts(c, "flash.export_preparing_admin")
	}
	var out bytes.Buffer
	if err := s.deps.Exports.Write(ctx, &out, id); err != nil {
		return err
	}
	if err := audit(); err != nil {
		return err
	}
	archiveHeaders(c, id)
	return c.Send(out.Bytes())
}

// exportDownload sends a prepared archive, a chunk at a time, to its member or an admin;
// anyone else is told there is none.
func (s *Server) exportDownload(c *fiber.Ctx) error {
	if s.deps.Exports == nil {
		return fiber.ErrNotFound
	}
	member, err := bson.ObjectIDFromHex(c.Params("member"))
	if err != nil {
		return exports.ErrNotFound
	}
	attempt, err := strconv.Atoi(c.Params("attempt"))
	if err != nil {
		return exports.ErrNotFound
	}
	u := web.User(c)
	if u.ID != member && !u.HasRole(customers.RoleAdmin) {
		return exports.ErrNotFound
	}
	// The body is written after the handler returns: the reads outlive the request's
	// context, within a bound of their own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 10*time.Minute)
	archive, err := s.deps.Exports.Open(ctx, member, attempt)
	if err != nil {
		cancel()
		return err
	}
	if u.ID != member { // an admin, on the member's request: the log keeps the fact
		if err := s.deps.Moderation.Append(ctx, moderation.Entry{Actor: u.ID, Action: moderation.ActionDataExport, TargetAuthor: member}); err != nil {
			cancel()
			return err
		}
	}
	archiveHeaders(c, member)
	c.Context().SetBodyStream(&closingReader{Reader: archive, close: cancel}, int(archive.Size))
	return nil
}

// archiveHeaders make the response a file to save, never kept by a cache.
func archiveHeaders(c *fiber.Ctx, member bson.ObjectID) {
	c.Locals(noCacheLocal, true)
	c.Set(fiber.HeaderContentType, "application/json; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="guyub-`+member.Hex()+`.json"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
}

// closingReader runs close when the server is done with the body (fasthttp closes a body
// stream that is an io.Closer).
type closingReader struct {
	io.Reader
	close func()
}

func (r *closingReader) Close() error {
	r.close()
	return nil
}
