package community

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// NotifyExportReady: the download of your data, prepared in the background, is ready. It is
// no kind a member chooses emails for: the exports package emails it, as the answer to
// their own request.
const NotifyExportReady = "export_ready"

// ExportReady tells a member, in the portal, that the download of their data is ready on
// page; key names the event, told once.
func (s *Service) ExportReady(ctx context.Context, member bson.ObjectID, page, key string) error {
	return s.notify(ctx, Notification{CustomerID: member, Kind: NotifyExportReady, URL: page, Key: key})
}
