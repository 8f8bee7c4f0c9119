package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tcp://u:secret@h:2376", "tcp://u:xxxxx@h:2376"},
		{"https://user:secret@registry.example/v2/x?y=1#f", "https://user:xxxxx@registry.example/v2/x?y=1#f"},
		{"https://TOKEN@github.com/org/repo.git", "https://xxxxx@github.com/org/repo.git"},
		{"HTTPS://TOKEN@github.com", "HTTPS://xxxxx@github.com"},
		{"git://TOKEN@host/repo", "git://xxxxx@host/repo"},
		{"tcp://user@host:2376", "tcp://xxxxx@host:2376"},
		{"git+https://TOKEN@host/repo", "git+https://xxxxx@host/repo"},
		{"ssh://builder@arm-box", "ssh://builder@arm-box"},
		{"ssh://builder:pw@arm-box:22", "ssh://builder:xxxxx@arm-box:22"},
		{"s3://AKIA:SECRET@bucket/key", "s3://AKIA:xxxxx@bucket/key"},
		{"tcp://u:p@ss@h:2376", "tcp://u:xxxxx@h:2376"}, // the last @ ends the userinfo
		{"tcp://u:p%zz@h:2376", "tcp://u:xxxxx@h:2376"}, // not a valid URL: redacted all the same
		{"https://TOKEN:@host", "https://xxxxx@host"},   // an empty password: the user may be a token
		{"ssh://me:@host", "ssh://me@host"},
		{"https://host/path@not-userinfo", "https://host/path@not-userinfo"},
		{"https://host:443/path@v1", "https://host:xxxxx@v1"},        // as if a password: no shape of one is shown
		{"http://u:12/34@proxy:3128", "http://u:xxxxx@proxy:3128"},   // a password that looks like a port and a path
		{"ssh://ci:pa/ss@box", "ssh://ci:xxxxx@box"},                 // a "/" typed raw in the password
		{"http://u:p#w@proxy:3128", "http://u:xxxxx@proxy:3128"},     // a raw "#"
		{"http://u:p?w@proxy:3128/x", "http://u:xxxxx@proxy:3128/x"}, // a raw "?"
		{"http://u:p%w/x#y@proxy:3128", "http://u:xxxxx@proxy:3128"}, // all of them
		{"ssh://ci@box/path@x", "ssh://ci@box/path@x"},               // the authority's @ wins
		{"tcp://u:p@ss#w@h:2376", "tcp://u:xxxxx@h:2376"},            // "@" and "#" raw in one password
		{"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
		{"tcp://127.0.0.1:2376", "tcp://127.0.0.1:2376"},
		{"somehost", "somehost"},
		{"user:pass@host", "user:pass@host"},
		{"", ""},
		{"a b://u:p@h", "a b://u:xxxxx@h"}, // not a scheme: a password all the same
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`dial tcp: lookup tcp://u:p@h:2376: no such host`, `dial tcp: lookup tcp://u:xxxxx@h:2376: no such host`},
		{`Get "https://TOKEN@github.com/x": EOF; also ssh://me@box and https://a:b@c/`,
			`Get "https://xxxxx@github.com/x": EOF; also ssh://me@box and https://a:xxxxx@c/`},
		{"context 'x' at `tcp://u:hunter2@h:1`", "context 'x' at `tcp://u:xxxxx@h:1`"},
		{"no urls here: user:pass@host", "no urls here: user:pass@host"},
		{"", ""},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSV(t *testing.T) {
	safe := []string{"type", "bucket", "region", "ref", "mode", "url"}
	for _, tc := range []struct{ in, want string }{
		{"type=s3,bucket=b,secret_access_key=K", "type=s3,bucket=b,secret_access_key=xxxxx"},
		{"type=s3,Bucket=b,SECRET_ACCESS_KEY=K,Region=eu", "type=s3,Bucket=b,SECRET_ACCESS_KEY=xxxxx,Region=eu"},
		{"type=registry,ref=https://u:pw@reg/cache,mode=max", "type=registry,ref=https://u:xxxxx@reg/cache,mode=max"},
		{"type=gha,token=ghs_abc,url=https://TOKEN@cache.example", "type=gha,token=xxxxx,url=https://xxxxx@cache.example"},
		{"user/app:cache", "user/app:cache"},
		{"https://TOKEN@reg/app:cache", "https://xxxxx@reg/app:cache"},
		{`type=s3,"secret=a,b",bucket=b`, `type=s3,secret=xxxxx,bucket=b`},
		{`type=registry,"ref=reg/a,b"`, `type=registry,"ref=reg/a,b"`},
		{`type=s3,secret="unterminated,bucket=b`, `type=s3,secret=xxxxx,bucket=b`},
		{"", ""},
	} {
		got := CSV(tc.in, safe...)
		if got != tc.want {
			t.Errorf("CSV(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"K", "pw", "ghs_abc", "TOKEN", "unterminated"} {
			if strings.Contains(tc.in, "="+secret) && strings.Contains(got, "="+secret) {
				t.Errorf("CSV(%q) = %q keeps %q", tc.in, got, secret)
			}
		}
	}
	if got := CSV("id=x,src=/path/secret"); got != "id=xxxxx,src=xxxxx" {
		t.Errorf("CSV without safe keys = %q", got)
	}
}

func TestError(t *testing.T) {
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
	plain := errors.New("connection refused")
	if Error(plain) != plain {
		t.Error("an error with nothing to redact was wrapped")
	}
	inner := fmt.Errorf("dial tcp://u:hunter2@h:2376: %w", context.DeadlineExceeded)
	err := Error(inner)
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "tcp://u:xxxxx@h:2376") {
		t.Errorf("Error = %q", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, inner) {
		t.Errorf("%v does not unwrap", err)
	}
}

// BuildKit's rule for a secret's name, held to its linter's examples.
func TestSecretKey(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "api_key": true, "DATABASE_PASSWORD": true, "secret_MESSAGE": true, "AUTH": true, "apikey": true,
		"PUBLIC_KEY": false, "TOKEN_FILE": false, "VERSION": false, "KEYBOARD": false, "FAIL_ON": false, "MONKEY": false,
	} {
		if got := SecretKey(name); got != want {
			t.Errorf("SecretKey(%q) = %v, want %v", name, got, want)
		}
	}
}
