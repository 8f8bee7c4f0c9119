// Package redact hides credentials in what is printed or stored: passwords and tokens in URLs,
// in free text such as error messages, and secret values of buildx-style CSV flags.
package redact

import (
	"encoding/csv"
	"regexp"
	"strings"
	"sync"
)

// Mask replaces a secret.
const Mask = "xxxxx"

// URL returns s with the password of its userinfo replaced by Mask. A user without a password is
// masked too for schemes where a token often sits in the user field (https://TOKEN@github.com),
// and kept for the others (ssh://user@host: a user name is no secret). A string that is not a
// URL with a scheme is returned unchanged. Everything but the userinfo is kept as written, so the
// URL need not be valid for its credentials to be hidden.
func URL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://") // whatever precedes "://": a value that is no valid URL may hold a password too
	if !ok {
		return s
	}
	at := userinfoEnd(rest)
	if at < 0 {
		return s
	}
	userinfo := rest[:at]
	user, password, hasPassword := strings.Cut(userinfo, ":")
	switch {
	case hasPassword && password != "":
		userinfo = user + ":" + Mask
	case user != "" && tokenScheme(scheme):
		userinfo = Mask
	case hasPassword: // "user:@host": nothing secret, but drop the empty password
		userinfo = user
	}
	return scheme + "://" + userinfo + rest[at:]
}

// Userinfo is the user information of a URL ("user:password" of scheme://user:password@host),
// found as URL finds it, and whether it has one.
func Userinfo(s string) (string, bool) {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", false
	}
	at := userinfoEnd(rest)
	if at < 0 {
		return "", false
	}
	return rest[:at], true
}

// userinfoEnd is where the userinfo of a URL's part after "://" ends (its last "@"), or -1. The
// authority ends at the first "/", "?" or "#", but a password typed raw may hold those
// (ssh://ci:pa/ss@box, http://u:p#w@proxy, http://u:12/34@proxy): "USER:...@" before them
// counts too. A URL whose path holds "@" after a port (https://host:443/p@v1) is then masked as
// if it had a password: what is printed loses a little, and no password is shown.
func userinfoEnd(rest string) int {
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	inAuthority := strings.LastIndex(authority, "@")
	last := strings.LastIndex(rest, "@")
	if last > inAuthority && credentialShaped(rest[:last]) {
		return last // a raw "/", "?" or "#" (and "@") in the password: everything to the last "@"
	}
	return inAuthority
}

// credentialShaped tells whether s reads as USER:PASSWORD: a colon, a user without "/", "?", "#".
func credentialShaped(s string) bool {
	user, password, ok := strings.Cut(s, ":")
	return ok && password != "" && !strings.ContainsAny(user, "/?#")
}

// tokenScheme tells whether a user without a password is likely a token for this scheme.
func tokenScheme(scheme string) bool {
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "http", "https", "tcp", "git", "ws", "wss":
		return true
	}
	return strings.HasSuffix(scheme, "+http") || strings.HasSuffix(scheme, "+https")
}

// urlRE finds URLs in free text (a scheme of any letters, digits and +.-, or none).
var urlRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("[A-Za-z0-9+.-]*://[^\\s\"'`<>]+") })

// Text returns s with the credentials of every URL in it redacted as URL does.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlRE().ReplaceAllStringFunc(s, URL)
}

// CSV redacts a buildx-style CSV flag value (type=s3,bucket=b,secret_access_key=K): the value of
// every field whose key is not one of safeKeys (compared case-insensitively) becomes Mask; values
// of safe keys, and fields without a key (a bare reference), keep only what URL keeps.
func CSV(value string, safeKeys ...string) string {
	if value == "" {
		return value
	}
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil { // not valid CSV: split it as written so that no value slips through whole
		fields = strings.Split(value, ",")
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			out[i] = quote(URL(f))
		case safe(key, safeKeys):
			out[i] = quote(key + "=" + URL(val))
		default:
			out[i] = quote(key + "=" + Mask)
		}
	}
	return strings.Join(out, ",")
}

func safe(key string, safeKeys []string) bool {
	key = strings.TrimSpace(key)
	for _, k := range safeKeys {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// quote puts a field in CSV quotes when it needs them.
func quote(f string) string {
	if !strings.ContainsAny(f, ",\"\r\n") {
		return f
	}
	return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
}

// Error returns err with the credentials of the URLs in its message redacted as Text does;
// errors.Is and errors.As see through it to err. nil stays nil, and an error with nothing to
// redact is returned as it is.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Text(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// secretKeyRE and secretAllowRE are BuildKit's own rule for a build argument or environment
// variable whose name says it holds a secret (the Dockerfile linter's SecretsUsedInArgOrEnv,
// frontend/dockerfile/dockerfile2llb/validations.go): a word of it, case-insensitive, is one of
// the secret tokens and none of the allowed ones.
var (
	secretKeyRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	})
	secretAllowRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`) })
)

// SecretKey says whether a build argument's name marks its value as a secret, as BuildKit's
// linter judges it (GITHUB_TOKEN, api_key, DATABASE_PASSWORD; not PUBLIC_KEY or TOKEN_FILE).
func SecretKey(name string) bool {
	return secretKeyRE().MatchString(name) && !secretAllowRE().MatchString(name)
}
