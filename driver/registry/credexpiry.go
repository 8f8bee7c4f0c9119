package registry

import (
	"context"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxToken caps the size of a stored credential read as a token.
const maxToken = 64 << 10

// CredentialExpiry is when the credentials Docker would use for host stop working, where they
// say so: the earliest expiry claim of a token stored as the password, the identity token or the
// registry token (read, not verified: only the registry can say whether it is valid), within the
// client's timeout. ok is false when no stored credential says when it expires, and for a host
// whose own credential helper (credHelpers) mints the tokens: it is asked again as they expire.
func (c *Client) CredentialExpiry(ctx context.Context, host string) (at time.Time, ok bool) {
	if c.creds != nil && c.creds.helperFor(host) != "" {
		return time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ac, err := c.auth(ctx, host, nil, nil)
	if err != nil {
		return time.Time{}, false
	}
	for _, tok := range []string{ac.Password, ac.IdentityToken, ac.RegistryToken} {
		if exp, found := tokenExpiry(tok); found && (!ok || exp.Before(at)) {
			at, ok = exp, true
		}
	}
	return at, ok
}

// tokenExpiry is the exp claim of a JWT; false for anything else.
func tokenExpiry(tok string) (time.Time, bool) {
	if tok == "" || len(tok) > maxToken {
		return time.Time{}, false
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		return time.Time{}, false
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}, false
	}
	return exp.Time, true
}
