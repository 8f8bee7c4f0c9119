package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tonistiigi/go-csvvalue"

	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
)

// fieldsOf is a flag value's fields as a resolved definition holds them: a map (a later key wins,
// as in the parsers).
func fieldsOf(t *testing.T, v string) map[string]string {
	t.Helper()
	fields, err := csvvalue.Fields(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fields {
		k, val, _ := strings.Cut(f, "=")
		m[k] = val
	}
	return m
}

// A value given typed (bake) parses to what the same value as flag text parses to, values
// holding commas and quotes included: no flag text is formatted on the way.
func TestTypedEntriesParseAsTheirFlagText(t *testing.T) {
	flagtest.IsolateEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NPM_TOKEN", "y")
	for _, v := range []string{"type=registry,ref=r/app:cache,mode=max", `type=registry,"ref=r/a:b,c"`, "type=local,src=cache", "type=gha,scope=x"} {
		text, _, terr := ParseCacheEntries("--cache-from", []string{v})
		typed, _, err := ParseCacheEntries("--cache-from", nil, EntryOf(fieldsOf(t, v), "type"))
		if (terr != nil) != (err != nil) || !reflect.DeepEqual(text, typed) {
			t.Errorf("cache %q: text %v, %v; typed %v, %v", v, text, terr, typed, err)
		}
	}
	for _, v := range []string{"id=a,src=tok", "id=b,env=NPM_TOKEN", "id=NPM_TOKEN", "src=tok", "id=c,src=missing", "id=d,type=env,src=NPM_TOKEN"} {
		text, terr := ParseSecret(v)
		typed, err := Secret(EntryOf(fieldsOf(t, v), "id"))
		if (terr != nil) != (err != nil) || text != typed {
			t.Errorf("secret %q: text %v, %v; typed %v, %v", v, text, terr, typed, err)
		}
	}
	for _, v := range []string{"type=local,dest=out", `type=local,"dest=out,dir"`, `type=tar,"dest=a""b.tar"`, "type=image,push=true,name=r/a:1", "type=oci,dest=o.tar", "type=local"} {
		text, terr := ParseOutputs([]string{v}, "", false)
		typed, err := ParseOutputs(nil, "", false, EntryOf(fieldsOf(t, v), "type", "dest"))
		if (terr != nil) != (err != nil) || !reflect.DeepEqual(text, typed) {
			t.Errorf("output %q: text %v, %v; typed %v, %v", v, text, terr, typed, err)
		}
	}
	for _, v := range []string{"type=provenance,mode=max", `type=provenance,"builder-id=a,b"`, "type=sbom,disabled=true", "type=provenance,mode=maximal"} {
		text, tgiven, terr := ParseAttestations([]string{v}, "", "")
		typed, given, err := ParseAttestations(nil, "", "", EntryOf(fieldsOf(t, v), "type", "disabled"))
		if (terr != nil) != (err != nil) || !reflect.DeepEqual(text, typed) || !reflect.DeepEqual(tgiven, given) {
			t.Errorf("attest %q: text %v, %v; typed %v, %v", v, text, terr, typed, err)
		}
	}
}

// Entries given typed are checked with the flag text, as one list: the flag's rules across
// values hold across both (one standard output), and a bad typed entry is named.
func TestTypedEntriesAreCheckedWithTheFlags(t *testing.T) {
	stdout := EntryOf(map[string]string{"type": "tar", "dest": "-"}, "type", "dest")
	if _, err := ParseOutputs([]string{"-"}, "", false, stdout); err == nil || !strings.Contains(err.Error(), "standard output") {
		t.Errorf("two outputs to standard output, one typed: %v", err)
	}
	if _, err := Secret(EntryOf(map[string]string{"src": "/nonexistent/tok"}, "id")); err == nil || !strings.Contains(err.Error(), "--secret") {
		t.Errorf("a typed secret without an id: %v", err)
	}
	if _, _, err := ParseCacheEntries("--cache-to", nil, EntryOf(map[string]string{"mode": "max"}, "type")); err == nil || !strings.Contains(err.Error(), "type is required") {
		t.Errorf("a typed cache without a type: %v", err)
	}
	out := map[string]string{}
	if err := AddKeyValues("--build-arg", out, map[string]string{"": "v"}); err == nil || !strings.Contains(err.Error(), "--build-arg") {
		t.Errorf("an empty build arg name: %v", err)
	}
	if err := AddKeyValues("--label", out, map[string]string{"a=b": "c,d"}); err != nil || out["a=b"] != "c,d" {
		t.Errorf("a label is kept as given: %v %v", out, err)
	}
}

// Masking reads a typed entry's text field by field, as a flag's: a secret holding a comma is
// masked whole (the text is CSV-quoted as buildx writes flags).
func TestTypedEntriesMaskSecretsWhole(t *testing.T) {
	flagtest.IsolateEnv(t)
	gha := EntryOf(map[string]string{"type": "gha", "token": "abc,Zx9Kq7Wm"}, "type")
	_, warned, err := ParseCacheEntries("--cache-to", nil, gha)
	if err != nil || len(warned) != 1 || strings.Contains(warned[0], "Zx9Kq7Wm") || strings.Contains(warned[0], "abc") {
		t.Errorf("warning %q, %v: shows a piece of the token", warned, err)
	}
	out := EntryOf(map[string]string{"registry.token": `a"b,Zx9Kq7Wm`, "dest": "x"}, "type", "dest")
	if _, err := OutputOf(out); err == nil || strings.Contains(err.Error(), "Zx9Kq7Wm") {
		t.Errorf("output without a type: %v", err)
	}
}
