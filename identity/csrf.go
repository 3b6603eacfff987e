package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// CSRFToken is the token a form must send back for the browser whose random ID is in its
// CSRF cookie. It is an HMAC of that ID, so a cookie planted by someone else (for example
// from a sibling subdomain) is useless without the server's key, and nothing is stored.
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
