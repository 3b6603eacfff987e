package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
)

// CSRFToken is the token a form must send back for the browser whose random ID is in its
// CSRF cookie: an HMAC of that ID, so nothing is stored. A forged request can send the
// cookie but cannot read it to compute the token. (Over HTTPS the cookie is named
// __Host-…, so a sibling subdomain cannot plant one of its own either.)
func (s *Service) CSRFToken(browserID string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte("csrf\x00" + browserID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ValidCSRF reports whether token belongs to browserID.
func (s *Service) ValidCSRF(browserID, token string) bool {
	if browserID == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.CSRFToken(browserID)))
}

// NewBrowserID is the random value of a new CSRF cookie.
func NewBrowserID() string { return randomToken(24) }

// NewDeviceToken is what a browser keeps after signing in to the account with email, so its
// later attempts skip the slow path and have a limit of their own: a random device ID and
// an HMAC of it with the address, so nothing is stored and each browser counts apart.
func (s *Service) NewDeviceToken(email string) string {
	id := randomToken(12)
	return id + "." + s.deviceMAC(id, email)
}

func (s *Service) deviceMAC(id, email string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte("device\x00" + id + "\x00" + customers.NormalizeEmail(email)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// knownDevice returns the device ID of token if it was made for email.
func (s *Service) knownDevice(email, token string) (string, bool) {
	id, mac, ok := strings.Cut(token, ".")
	if !ok || id == "" || len(id) > 64 {
		return "", false
	}
	return id, hmac.Equal([]byte(mac), []byte(s.deviceMAC(id, email)))
}

// UnsubscribeLink is the path that stops one kind of email for one member in one click,
// without signing in (RFC 8058): the member and the kind, with an HMAC of both.
func (s *Service) UnsubscribeLink(member bson.ObjectID, kind string) string {
	payload := member.Hex() + "." + kind
	return "/unsubscribe/" + payload + "." + s.unsubscribeMAC(payload)
}

// CheckUnsubscribe reads the token of an UnsubscribeLink.
func (s *Service) CheckUnsubscribe(token string) (bson.ObjectID, string, bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(token) > 200 {
		return bson.ObjectID{}, "", false
	}
	payload, mac := token[:i], token[i+1:]
	hex, kind, ok := strings.Cut(payload, ".")
	member, err := bson.ObjectIDFromHex(hex)
	if !ok || err != nil || !hmac.Equal([]byte(mac), []byte(s.unsubscribeMAC(payload))) {
		return bson.ObjectID{}, "", false
	}
	return member, kind, true
}

func (s *Service) unsubscribeMAC(payload string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte("unsubscribe\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
