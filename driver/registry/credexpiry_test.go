package registry

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

func jwtWithExp(exp int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(fmt.Appendf(nil, `{"sub":"x","exp":%d}`, exp)) + "." + enc([]byte("sig"))
}

func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		name, tok string
		want      int64 // 0: none
	}{
		{"jwt", jwtWithExp(1800000000), 1800000000},
		{"a password", "hunter2", 0},
		{"three dots of nothing", "..", 0},
		{"no exp", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + ".", 0},
		{"exp not a number", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".", 0},
		{"too long", jwtWithExp(1800000000) + strings.Repeat("A", maxToken), 0},
	} {
		at, ok := tokenExpiry(tc.tok)
		if ok != (tc.want != 0) || (ok && at.Unix() != tc.want) {
			t.Errorf("%s: %v %v, want %d", tc.name, at, ok, tc.want)
		}
	}
}

// The earliest expiry among the password, the identity token and the registry token; a host
// without credentials, or with ones that do not say, has none.
func TestCredentialExpiryIsTheEarliest(t *testing.T) {
	cfg := configfile.New(filepath.Join(t.TempDir(), "config.json"))
	cfg.AuthConfigs = map[string]types.AuthConfig{
		"a.example": {Username: "u", Password: jwtWithExp(1900000000), IdentityToken: jwtWithExp(1800000000)},
		"b.example": {Username: "u", Password: "plain"},
	}
	c := New(cfg)
	if at, ok := c.CredentialExpiry(context.Background(), "a.example"); !ok || !at.Equal(time.Unix(1800000000, 0)) {
		t.Errorf("a.example: %v %v, want the identity token's 1800000000", at, ok)
	}
	for _, h := range []string{"b.example", "c.example"} {
		if at, ok := c.CredentialExpiry(context.Background(), h); ok {
			t.Errorf("%s: expiry %v, want none", h, at)
		}
	}
}

// A host whose own credential helper (credHelpers) gives its credentials is never warned of: the
// helper mints short-lived tokens and is asked again as they expire.
func TestCredentialExpiryIgnoresAHostsOwnHelper(t *testing.T) {
	cfg := configfile.New(filepath.Join(t.TempDir(), "config.json"))
	cfg.CredentialHelpers = map[string]string{"h.example": "no-such-helper"}
	cfg.AuthConfigs = map[string]types.AuthConfig{"h.example": {Username: "u", Password: jwtWithExp(1800000000)}}
	if at, ok := New(cfg).CredentialExpiry(context.Background(), "h.example"); ok {
		t.Errorf("expiry %v for a host with its own helper", at)
	}
}
