package spec

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
)

func TestParseCacheEntries(t *testing.T) {
	got, _, err := ParseCacheEntries("--cache-from", []string{
		"reg.example/app:cache",
		`type=registry,"ref=reg.example/a:x,y",mode=max`,
		"Type=local,src=/tmp/cache",
		"type=s3,region=eu-west-1,bucket=b,secret_access_key=K3Y",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []client.CacheOptionsEntry{
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/app:cache"}},
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/a:x,y", "mode": "max"}},
		{Type: "local", Attrs: map[string]string{"src": "/tmp/cache"}},
		{Type: "s3", Attrs: map[string]string{"region": "eu-west-1", "bucket": "b", "secret_access_key": "K3Y"}},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %+v", got)
	}
	for i := range want {
		if got[i].Type != want[i].Type || !maps.Equal(got[i].Attrs, want[i].Attrs) {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, _, err := ParseCacheEntries("--cache-to", nil); err != nil || got != nil {
		t.Errorf("no flags: %v, %v", got, err)
	}
}

func TestParseCacheEntriesErrorsMaskSecrets(t *testing.T) {
	for _, tc := range []struct {
		value string
		wants []string
	}{
		// No type: the safe keys are shown, the secret is not.
		{"bucket=b,secret_access_key=K3Y", []string{"--cache-to", "type is required", "bucket=b", "secret_access_key=xxxxx"}},
		// Not valid CSV (a quote inside an unquoted field, as buildx refuses it too).
		{`type=s3,session_token="K3Y,x`, []string{"--cache-to", "session_token=xxxxx"}},
		{`type=registry,ref="a,b"`, []string{"--cache-to", "bare \""}},
		// A token in a URL-ish ref is masked too.
		{"ref=https://user:K3Y@cache.example/x", []string{"type is required", "user:xxxxx@cache.example"}},
	} {
		_, _, err := ParseCacheEntries("--cache-to", []string{tc.value})
		if err == nil {
			t.Errorf("%s: accepted", tc.value)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", tc.value, err, w)
			}
		}
		if strings.Contains(err.Error(), "K3Y") {
			t.Errorf("%s: error %q shows the secret", tc.value, err)
		}
	}
}

func TestParseSecret(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "from-the-environment")
	dir := t.TempDir()
	file := filepath.Join(dir, "tok.txt")
	if err := os.WriteFile(file, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		value string
		want  secretsprovider.Source
	}{
		{"id=tok,src=" + file, secretsprovider.Source{ID: "tok", FilePath: file}},
		{"id=tok,source=" + file, secretsprovider.Source{ID: "tok", FilePath: file}},
		{"type=file,id=tok,src=" + file, secretsprovider.Source{ID: "tok", FilePath: file}},
		{"id=tok,env=TOKEN_VAR", secretsprovider.Source{ID: "tok", Env: "TOKEN_VAR"}},
		// type=env: src names the variable, as buildx reads it.
		{"type=env,id=tok,src=TOKEN_VAR", secretsprovider.Source{ID: "tok", Env: "TOKEN_VAR"}},
		{"type=env,id=tok,env=OTHER", secretsprovider.Source{ID: "tok", Env: "OTHER"}},
		// A bare id reads the environment variable of that name when it is set (else the file).
		{"id=GITHUB_TOKEN", secretsprovider.Source{ID: "GITHUB_TOKEN", Env: "GITHUB_TOKEN"}},
		{"id=" + file, secretsprovider.Source{ID: file, FilePath: file}},
		{"type=env,id=GITHUB_TOKEN", secretsprovider.Source{ID: "GITHUB_TOKEN", Env: "GITHUB_TOKEN"}},
		{"ID=tok,Env=V", secretsprovider.Source{ID: "tok", Env: "V"}},
	} {
		got, err := ParseSecret(tc.value)
		if err != nil || got != tc.want {
			t.Errorf("--secret %s = %+v, %v; want %+v", tc.value, got, err, tc.want)
		}
	}
	// buildx's types are file and env; a bare id with neither a variable nor a file is named.
	for value, want := range map[string]string{"type=ssh,id=x": `unsupported type "ssh"`, "id=NO_SUCH_VAR_OR_FILE": "NO_SUCH_VAR_OR_FILE"} {
		if _, err := ParseSecret(value); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--secret %s: err %v, want it to name %s", value, err, want)
		}
	}
}

func TestParseSecretRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.txt")
	for _, tc := range []struct {
		value string
		wants []string
	}{
		{"src=/etc/hostname", []string{"--secret", "id is required"}},
		{"id=tok,src=" + missing, []string{`--secret "id=tok`, missing, "no such file"}},
		{"id=tok,token=s3cret", []string{`unknown key "token"`, "token=xxxxx"}},
		{`id="tok`, []string{"--secret"}},
	} {
		_, err := ParseSecret(tc.value)
		if err == nil {
			t.Errorf("--secret %s: accepted", tc.value)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--secret %s: error %q does not name %q", tc.value, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("--secret %s: error %q shows the secret", tc.value, err)
		}
	}
}

func TestParseSSH(t *testing.T) {
	for _, tc := range []struct {
		value string
		id    string
		paths []string
	}{
		{"default", "default", nil},
		{"default=/run/agent.sock", "default", []string{"/run/agent.sock"}},
		{"deploy=/keys/a,/keys/b", "deploy", []string{"/keys/a", "/keys/b"}},
		{"deploy=", "deploy", []string{""}},                   // as buildx: an empty path, refused when the agent is made
		{"=/run/agent.sock", "", []string{"/run/agent.sock"}}, // BuildKit's default agent
	} {
		got := ParseSSH(tc.value)
		if got.ID != tc.id || !slices.Equal(got.Paths, tc.paths) {
			t.Errorf("--ssh %s = %+v; want id %s paths %v", tc.value, got, tc.id, tc.paths)
		}
	}
}

func TestParseAttestations(t *testing.T) {
	for _, tc := range []struct {
		attests          []string
		provenance, sbom string
		want             map[string]string
		given            []string
	}{
		{nil, "", "", map[string]string{}, nil},
		{nil, "true", "", map[string]string{"attest:provenance": "type=provenance"}, []string{"provenance"}},
		{nil, "1", "", map[string]string{"attest:provenance": "type=provenance"}, []string{"provenance"}},
		{nil, "false", "", map[string]string{}, []string{"provenance"}},
		{nil, "mode=max", "", map[string]string{"attest:provenance": "type=provenance,mode=max"}, []string{"provenance"}},
		{nil, "type=provenance,mode=max,builder-id=ci", "", map[string]string{"attest:provenance": "type=provenance,builder-id=ci,mode=max"}, []string{"provenance"}},
		{nil, "disabled=true", "", map[string]string{}, []string{"provenance"}},
		{nil, "mode=max,disabled=true", "", map[string]string{}, []string{"provenance"}},
		{nil, "", "true", map[string]string{"attest:sbom": "type=sbom"}, []string{"sbom"}},
		{nil, "", "generator=docker/buildkit-syft-scanner", map[string]string{"attest:sbom": "type=sbom,generator=docker/buildkit-syft-scanner"}, []string{"sbom"}},
		// --attest comes first, and the first value of a type wins, as in buildx.
		{[]string{"type=provenance,mode=max"}, "false", "", map[string]string{"attest:provenance": "type=provenance,mode=max"}, []string{"provenance"}},
		{[]string{"type=sbom,disabled=true"}, "", "true", map[string]string{}, []string{"sbom"}},
		{[]string{"type=sbom", `type=provenance,"builder-id=a,b"`}, "", "", map[string]string{"attest:sbom": "type=sbom", "attest:provenance": `type=provenance,"builder-id=a,b"`}, []string{"provenance", "sbom"}},
	} {
		got, given, err := ParseAttestations(tc.attests, tc.provenance, tc.sbom)
		if err != nil || !maps.Equal(got, tc.want) || !slices.Equal(slices.Sorted(maps.Keys(given)), tc.given) {
			t.Errorf("%v --provenance %q --sbom %q = %v %v, %v; want %v %v", tc.attests, tc.provenance, tc.sbom, got, given, err, tc.want, tc.given)
		}
	}
	for _, tc := range []struct {
		attests          []string
		provenance, sbom string
		wants            []string
	}{
		{nil, "type=sbom", "", []string{"--provenance", "type=sbom", "type must be provenance"}},
		{nil, "", "type=provenance,mode=max", []string{"--sbom", "type must be sbom"}},
		{nil, "mode=maximal", "", []string{"--provenance", "mode=maximal", "mode must be min or max"}},
		{nil, "mode=full,token=s3cret", "", []string{"mode must be min or max", "token=xxxxx"}},
		{nil, "", `generator="x`, []string{"--sbom"}},
		{[]string{"mode=max"}, "", "", []string{"--attest", "type is required"}},
		{[]string{"type=sbom,disabled=maybe"}, "", "", []string{"--attest", "disabled must be true or false"}},
		{[]string{"type=sbom,novalue"}, "", "", []string{"--attest", `"novalue" is not KEY=VALUE`}},
	} {
		_, _, err := ParseAttestations(tc.attests, tc.provenance, tc.sbom)
		if err == nil {
			t.Errorf("%v %q %q: accepted", tc.attests, tc.provenance, tc.sbom)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %q %q: error %q does not name %q", tc.attests, tc.provenance, tc.sbom, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the secret", err)
		}
	}
}
