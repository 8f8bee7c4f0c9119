package spec

// Differential tests: the plugin's own parsers against buildx v0.38's util/buildflags and build
// packages, linked here in test code only (buildflags imports buildx's policy engine, whose
// start-up cost the plugin binary cannot carry). Every value form of buildx's docs and tests.

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/client"
)

// cacheEnvs are the environments the cache forms are parsed in: none, GitHub Actions (cache
// service v1 and v2) and AWS credentials.
var cacheEnvs = []map[string]string{
	{},
	{"ACTIONS_RUNTIME_TOKEN": "gh-t0ken", "ACTIONS_CACHE_URL": "https://cache.example/"},
	{"ACTIONS_RUNTIME_TOKEN": "gh-t0ken", "ACTIONS_RESULTS_URL": "https://results.example/", "ACTIONS_CACHE_SERVICE_V2": "true"},
	{"ACTIONS_RUNTIME_TOKEN": "gh-t0ken", "ACTIONS_RESULTS_URL": "https://results.example/"},
	{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s3cretenv", "AWS_SESSION_TOKEN": "sessenv", "AWS_REGION": "eu-west-1"},
	{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s3cretenv"},
	{"AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_KEY": "s3cretold"},
}

var cacheForms = [][]string{
	{"user/app:cache"}, {"reg.example:5000/team/app:buildcache"}, {"a,b"}, {`"a,b"`}, {"a", "b"},
	{"type=registry,ref=user/app:cache"}, {`type=registry,"ref=reg.example/a:x,y",mode=max`},
	{"type=registry,ref=user/app:cache,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true"},
	{"Type=local,src=path/to/dir"}, {"type=local,dest=path/to/dir,mode=max,compression=zstd"},
	{"type=inline"}, {"type=gha"}, {"type=gha,scope=main,mode=max"}, {"type=gha,url=https://mine.example/,token=mine"},
	{"type=gha,version=2"}, {"type=gha,version=1,url_v2=https://v2.example/"},
	{"type=s3,region=eu-west-1,bucket=b"}, {"type=s3,region=r,bucket=b,access_key_id=AKIDMINE,secret_access_key=MINE"},
	{"type=s3,region=r,bucket=b,access_key_id=AKIDMINE"}, {"type=s3,region=r,bucket=b,session_token=MINE"},
	{"type=azblob,account_url=https://acct.blob.core.windows.net,name=app"},
	{"ref=x"}, {"type=registry,ref"}, {`type=s3,session_token="K3Y,x`}, {`type=registry,ref="a,b"`}, {""}, {"", "a"},
	{"type=local,src=a,"}, {" type=local,src=x"}, {"type="}, {"TYPE=registry,REF=x"},
}

func TestDiffCacheEntries(t *testing.T) {
	for i, env := range cacheEnvs {
		t.Run(fmt.Sprint("env", i), func(t *testing.T) {
			flagtest.IsolateEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			for _, in := range cacheForms {
				ours, _, err := ParseCacheEntries("--cache-from", in)
				theirs, berr := buildflags.ParseCacheEntry(in)
				if (err != nil) != (berr != nil) {
					t.Errorf("%q: ours %v, buildx's %v", in, err, berr)
					continue
				}
				if err != nil {
					continue
				}
				if want := build.CreateCaches(theirs); !sameCaches(ours, want) {
					t.Errorf("%q: ours %+v, buildx's %+v", in, ours, want)
				}
			}
		})
	}
}

func sameCaches(a, b []client.CacheOptionsEntry) bool {
	return slices.EqualFunc(a, b, func(x, y client.CacheOptionsEntry) bool {
		return x.Type == y.Type && maps.Equal(x.Attrs, y.Attrs)
	})
}

func TestDiffSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok.txt")
	if err := os.WriteFile(file, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SECRET_VAR", "v")
	t.Chdir(dir)
	for _, v := range []string{
		"id=mysecret,src=" + file, "id=mysecret,source=" + file, "type=file,id=mysecret,src=" + file, "ID=x,Src=" + file,
		"id=x,env=SECRET_VAR", "type=env,id=x,src=SECRET_VAR", "type=env,id=x,env=SECRET_VAR", "type=env,id=SECRET_VAR",
		"id=SECRET_VAR", "id=tok.txt", "id=" + file, "type=env,id=NO_SUCH_VAR", "id=NO_SUCH_VAR_OR_FILE",
		"type=ssh,id=x", "id=x,foo=bar", "src=" + file, "id", `id="x`, "id=x,src=" + filepath.Join(dir, "missing"),
		" id=x,src=" + file, "id=a,id=b,src=" + file,
	} {
		ours, err := ParseSecret(v)
		specs, berr := buildflags.ParseSecretSpecs([]string{v})
		if berr == nil {
			_, berr = build.CreateSecrets(specs)
		}
		if (err != nil) != (berr != nil) {
			t.Errorf("--secret %s: ours %v, buildx's %v", v, err, berr)
			continue
		}
		if err != nil {
			continue
		}
		r := specs[0].ResolveSource()
		if ours.ID != r.ID || ours.FilePath != r.FilePath || ours.Env != r.Env {
			t.Errorf("--secret %s: ours %+v, buildx's %+v", v, ours, r)
		}
	}
}

// attestCase is --attest values with --provenance and --sbom. deviates: refused here, passed on
// by buildx for BuildKit to refuse once the build has started (or turned into another type).
type attestCase struct {
	attests          []string
	provenance, sbom string
	deviates         bool
}

var attestCases = []attestCase{
	{nil, "", "", false}, {nil, "true", "", false}, {nil, "false", "", false}, {nil, "1", "0", false},
	{nil, "mode=max", "", false}, {nil, "mode=min", "", false}, {nil, "mode=max,builder-id=https://ci.example/run/1", "", false},
	{nil, "type=provenance,mode=max", "", false}, {nil, "disabled=true", "", false}, {nil, "mode=max,disabled=true", "", false},
	{nil, "", "true", false}, {nil, "", "false", false}, {nil, "", "generator=docker/buildkit-syft-scanner", false},
	{nil, "", "generator=image,disabled=false", false},
	{[]string{"type=sbom,generator=image"}, "", "", false}, {[]string{"type=provenance,mode=max"}, "", "", false},
	{[]string{"type=provenance,disabled=true"}, "", "", false}, {[]string{"type=sbom"}, "", "false", false},
	{[]string{"type=provenance,mode=max"}, "false", "true", false}, {[]string{"type=sbom,disabled=true", "type=sbom"}, "", "", false},
	{[]string{`type=provenance,"builder-id=a,b"`, "Type=sbom"}, "", "", false}, {[]string{"type=custom,x=y"}, "", "", false},
	{[]string{"mode=max"}, "", "", false}, {[]string{"type=sbom,disabled=maybe"}, "", "", false},
	{[]string{"type=sbom,novalue"}, "", "", false}, {nil, "", `generator="x`, false}, {[]string{" type=sbom"}, "", "", false},
	{nil, "mode=maximal", "", true}, {nil, "type=sbom", "", true}, {nil, "", "type=provenance", true},
}

func TestDiffAttests(t *testing.T) {
	for _, tc := range attestCases {
		ours, given, err := ParseAttestations(tc.attests, tc.provenance, tc.sbom)
		in := slices.Clone(tc.attests)
		if tc.provenance != "" {
			in = append(in, buildflags.CanonicalizeAttest("provenance", tc.provenance))
		}
		if tc.sbom != "" {
			in = append(in, buildflags.CanonicalizeAttest("sbom", tc.sbom))
		}
		theirs, berr := buildflags.ParseAttests(in)
		if tc.deviates {
			if err == nil || berr != nil {
				t.Errorf("%+v: ours %v, buildx's %v; want ours to refuse what buildx passes on", tc, err, berr)
			}
			continue
		}
		if (err != nil) != (berr != nil) {
			t.Errorf("%+v: ours %v, buildx's %v", tc, err, berr)
			continue
		}
		want, wantGiven := map[string]string{}, map[string]bool{}
		for k, v := range theirs.ToMap() {
			wantGiven[k] = true
			if v != nil {
				want["attest:"+k] = *v
			}
		}
		if err == nil && (!maps.Equal(ours, want) || !maps.Equal(given, wantGiven)) {
			t.Errorf("%+v: ours %v %v, buildx's %v %v", tc, ours, given, want, wantGiven)
		}
	}
}
