package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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
