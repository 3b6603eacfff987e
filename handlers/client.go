package handlers

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// parseProxies reads the trusted load balancers: IP addresses or CIDR ranges.
func parseProxies(list []string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, p := range list {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", p, err)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

func (s *Server) trusted(ip net.IP) bool {
	for _, n := range s.proxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address of the person asking. Behind trusted load balancers it is the
// right-most X-Forwarded-For entry that no trusted proxy accounts for: each proxy appends
// the address it heard from, and anything further left is whatever the client wrote.
func (s *Server) clientIP(c *fiber.Ctx) string {
	remote := c.Context().RemoteIP()
	if !s.trusted(remote) {
		return remote.String()
	}
	parts := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	client := remote
	for i := len(parts) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(parts[i]))
		if ip == nil {
			break
		}
		client = ip
		if !s.trusted(ip) {
			break
		}
	}
	return client.String()
}

// cookieName carries the __Host- prefix over HTTPS: the browser then accepts the cookie only
// Secure, for the whole site and from this host, so no sibling subdomain can plant one.
func (s *Server) cookieName(name string) string {
	if s.cfg.SecureCookies {
		return "__Host-" + name
	}
	return name
}

// setCookie sets one of our cookies: HttpOnly, SameSite=Lax, for the whole site, Secure over
// HTTPS. A zero lifetime makes a cookie that ends with the browser session.
func (s *Server) setCookie(c *fiber.Ctx, name, value string, lifetime time.Duration) {
	cookie := &fiber.Cookie{
		Name: s.cookieName(name), Value: value, Path: "/", HTTPOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	}
	if lifetime > 0 {
		cookie.Expires = time.Now().Add(lifetime)
	}
	c.Cookie(cookie)
}

func (s *Server) cookie(c *fiber.Ctx, name string) string { return c.Cookies(s.cookieName(name)) }

// clearCookie removes one of our cookies (with the same name and path it was set with, or
// the browser keeps it; Fiber's ClearCookie sets no path).
func (s *Server) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: s.cookieName(name), Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		Secure: s.cfg.SecureCookies, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
}
