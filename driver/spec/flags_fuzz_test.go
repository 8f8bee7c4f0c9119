package spec

// Fuzz targets of the build flags' parsers (this package). Each value is parsed by ours and by
// buildx v0.38's util/buildflags (the differential tests' reference, flags_diff*_test.go):
// they must agree, value for value, except where a deviation is documented; every error names its
// flag and never shows the value of a key that may hold a secret.

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/tonistiigi/go-csvvalue"
)

// isolateFlagEnv is isolateAWS for a fuzz target: no GitHub Actions or AWS variables, and the AWS
// SDK kept to the environment (no shared files, no instance metadata service).
func isolateAWS(tb testing.TB) {
	dir := tb.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_CACHE_URL", "ACTIONS_RESULTS_URL", "ACTIONS_CACHE_SERVICE_V2"} {
		tb.Setenv(k, "")
		os.Unsetenv(k)
	}
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
}

var secretLike = regexp.MustCompile(`^[A-Za-z0-9]{6,}$`)

// secretValues are the values of a CSV flag value's fields that errors must never show: those of
// keys not in safeKeys, the fields split as the parser splits them (csvvalue; at commas when it
// cannot). Only values that are alphanumeric, 6+ long and written once in v are returned.
func secretValues(v string) []string {
	fields, err := csvvalue.Fields(v, nil)
	if err != nil {
		fields = strings.Split(v, ",")
	}
	var out []string
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		val = strings.TrimSpace(val)
		safe := slices.ContainsFunc(safeKeys, func(s string) bool { return strings.EqualFold(strings.TrimSpace(k), s) })
		if ok && !safe && secretLike.MatchString(val) && strings.Count(v, val) == 1 {
			out = append(out, val)
		}
	}
	return out
}

// checkFlagError: err names flag.
func checkFlagError(t *testing.T, flag string, err error, values ...string) {
	t.Helper()
	if err != nil && !strings.Contains(err.Error(), flag) {
		t.Errorf("%q: error %q does not name %s", values, err, flag)
	}
}

// checkNoSecretShown: parse's error never shows a secret value of the values: each, in turn,
// replaced by flagtest.SecretMarker, is not in the error.
func checkNoSecretShown(t *testing.T, parse func(values []string) error, values ...string) {
	t.Helper()
	for i, v := range values {
		if strings.Contains(strings.Join(values, ","), flagtest.SecretMarker) {
			return
		}
		for _, s := range secretValues(v) {
			marked := slices.Clone(values)
			marked[i] = strings.Replace(v, s, flagtest.SecretMarker, 1)
			if err := parse(marked); err != nil && strings.Contains(err.Error(), flagtest.SecretMarker) {
				t.Errorf("%q: error %q shows the secret value %s", marked, err, flagtest.SecretMarker)
			}
		}
	}
}

func FuzzParseCacheEntries(f *testing.F) {
	flagtest.IsolateEnv(f)
	for _, in := range cacheForms {
		if len(in) == 1 {
			f.Add(in[0])
		}
	}
	f.Add("type=s3,region=r,bucket=b,secret_access_key=K3Y0123abc")
	f.Add(`type=s3,"session_token=K3Y0123,x"`)
	f.Add("ref=https://user:S3cret99@cache.example/x")
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		ours, _, err := ParseCacheEntries("--cache-from", []string{v})
		checkFlagError(t, "--cache-from", err, v)
		checkNoSecretShown(t, func(vs []string) error { _, _, err := ParseCacheEntries("--cache-from", vs); return err }, v)
		theirs, berr := buildflags.ParseCacheEntry([]string{v})
		if (err != nil) != (berr != nil) {
			t.Fatalf("--cache-from %q: ours %v, buildx's %v", v, err, berr)
		}
		if err != nil {
			return
		}
		if want := build.CreateCaches(theirs); !sameCaches(ours, want) {
			t.Fatalf("--cache-from %q: ours %+v, buildx's %+v", v, ours, want)
		}
		for _, e := range ours {
			if e.Type == "" || e.Attrs == nil {
				t.Errorf("--cache-from %q: entry without a type: %+v", v, e)
			}
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	dir := f.TempDir()
	file := filepath.Join(dir, "tok.txt")
	if err := os.WriteFile(file, []byte("s3cret"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Setenv("SECRET_VAR", "v")
	for _, v := range []string{
		"id=mysecret,src=tok.txt", "id=mysecret,source=" + file, "type=file,id=mysecret,src=tok.txt", "ID=x,Src=tok.txt",
		"id=x,env=SECRET_VAR", "type=env,id=x,src=SECRET_VAR", "type=env,id=x,env=SECRET_VAR", "type=env,id=SECRET_VAR",
		"id=SECRET_VAR", "id=tok.txt", "type=env,id=NO_SUCH_VAR", "id=NO_SUCH_VAR_OR_FILE", "type=ssh,id=x", "id=x,foo=bar",
		"src=tok.txt", "id", `id="x`, "id=x,src=missing", " id=x,src=tok.txt", "id=a,id=b,src=tok.txt", "id=x,token=S3cret99",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		t.Chdir(dir) // here, not before f.Fuzz: Go reads testdata/fuzz relative to the working directory
		if v == "" || len(v) > flagtest.MaxValue {
			t.Skip() // an empty --secret is skipped before it is parsed, as buildx skips it
		}
		ours, err := ParseSecret(v)
		checkFlagError(t, "--secret", err, v)
		checkNoSecretShown(t, func(vs []string) error { _, err := ParseSecret(vs[0]); return err }, v)
		specs, berr := buildflags.ParseSecretSpecs([]string{v})
		if berr == nil {
			_, berr = build.CreateSecrets(specs)
		}
		if (err != nil) != (berr != nil) {
			t.Fatalf("--secret %q: ours %v, buildx's %v", v, err, berr)
		}
		if err != nil {
			return
		}
		if len(specs) == 0 {
			t.Fatalf("--secret %q: accepted, and buildx reads no secret in it", v)
		}
		if r := specs[0].ResolveSource(); ours.ID != r.ID || ours.FilePath != r.FilePath || ours.Env != r.Env {
			t.Fatalf("--secret %q: ours %+v, buildx's %+v", v, ours, r)
		}
		if ours.ID == "" || ours.FilePath == "" && ours.Env == "" {
			t.Errorf("--secret %q: accepted without an id or a source: %+v", v, ours)
		}
	})
}

func FuzzParseSSH(f *testing.F) {
	for _, v := range []string{"default", "default=/run/agent.sock", "deploy=/keys/a,/keys/b", "deploy=", "=/run/agent.sock", "a=b=c", ",", "=,"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || len(v) > flagtest.MaxValue {
			t.Skip() // an empty --ssh is skipped before it is parsed
		}
		ours := ParseSSH(v)
		specs, err := buildflags.ParseSSHSpecs([]string{v})
		if err != nil || len(specs) != 1 {
			t.Fatalf("--ssh %q: buildx's %v, %v", v, specs, err)
		}
		if ours.ID != specs[0].ID || !slices.Equal(ours.Paths, specs[0].Paths) {
			t.Fatalf("--ssh %q: ours %+v, buildx's %+v", v, ours, specs[0])
		}
		// Round trip: ID[=PATH,...] is the value as given.
		back := ours.ID
		if ours.Paths != nil {
			back += "=" + strings.Join(ours.Paths, ",")
		}
		if back != v {
			t.Errorf("--ssh %q: parsed %+v, which reads back as %q", v, ours, back)
		}
	})
}

// attestDeviations are the errors of values buildx passes on for BuildKit to refuse once the build
// has started (or turns into another type), which are refused here before anything runs.
var attestDeviations = []string{"provenance mode must be min or max", "type must be provenance", "type must be sbom"}

func FuzzParseAttestations(f *testing.F) {
	for _, tc := range attestCases {
		if len(tc.attests) <= 1 {
			f.Add(strings.Join(tc.attests, ""), tc.provenance, tc.sbom)
		}
	}
	f.Add("type=provenance,mode=max,token=S3cret99", "", "")
	f.Add("", "mode=full,token=S3cret99", "")
	f.Fuzz(func(t *testing.T, attest, provenance, sbom string) {
		if len(attest)+len(provenance)+len(sbom) > flagtest.MaxValue {
			t.Skip()
		}
		var attests []string
		if attest != "" {
			attests = []string{attest}
		}
		ours, given, err := ParseAttestations(attests, provenance, sbom)
		if err != nil && !strings.Contains(err.Error(), "--attest") && !strings.Contains(err.Error(), "--provenance") && !strings.Contains(err.Error(), "--sbom") {
			t.Errorf("error %q names no flag", err)
		}
		checkNoSecretShown(t, func(vs []string) error {
			var as []string
			if vs[0] != "" {
				as = vs[:1]
			}
			_, _, err := ParseAttestations(as, vs[1], vs[2])
			return err
		}, attest, provenance, sbom)
		in := slices.Clone(attests)
		if provenance != "" {
			in = append(in, buildflags.CanonicalizeAttest("provenance", provenance))
		}
		if sbom != "" {
			in = append(in, buildflags.CanonicalizeAttest("sbom", sbom))
		}
		theirs, berr := buildflags.ParseAttests(in)
		switch {
		case err != nil && berr == nil:
			if !slices.ContainsFunc(attestDeviations, func(d string) bool { return strings.Contains(err.Error(), d) }) {
				t.Fatalf("%q --provenance %q --sbom %q: ours %v, buildx accepts it", attest, provenance, sbom, err)
			}
			return
		case err == nil && berr != nil:
			t.Fatalf("%q --provenance %q --sbom %q: ours accepted, buildx's %v", attest, provenance, sbom, berr)
		case err != nil:
			return
		}
		want, wantGiven := map[string]string{}, map[string]bool{}
		for k, v := range theirs.ToMap() {
			wantGiven[k] = true
			if v != nil {
				want["attest:"+k] = *v
			}
		}
		if !maps.Equal(ours, want) || !maps.Equal(given, wantGiven) {
			t.Fatalf("%q --provenance %q --sbom %q: ours %v %v, buildx's %v %v", attest, provenance, sbom, ours, given, want, wantGiven)
		}
		// Round trip: every attribute is an --attest value that parses back to itself.
		for k, v := range ours {
			typ, disabled, kv, err := parseAttest(attestFlag{flag: "--attest", value: v, csv: v})
			if err != nil || disabled || "attest:"+typ != k || !given[typ] {
				t.Fatalf("%s=%q parses back as %q %v %v", k, v, typ, disabled, err)
			}
			if back := csvJoin(append([][2]string{{"type", typ}}, kv...)); back != v {
				t.Errorf("%s=%q reads back as %q", k, v, back)
			}
		}
	})
}

func FuzzParseOutputs(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		f.Fatal(err)
	}
	for _, v := range []string{
		"type=local,dest=out", "out", "-", "type=tar,dest=out.tar", "type=tar", "type=oci,dest=img.tar",
		"type=oci,tar=false,dest=layout", "type=docker", "type=docker,dest=img.tar", "type=docker,tar=false,dest=d",
		"type=registry", "type=registry,unpack=true", "type=image,name=reg.example/app,push=true",
		`type=image,"name=reg.example/a,reg.example/b",push=true`, "type=cacheonly", " Type=local,Dest=out",
		"type=local", "type=local,dest=-", "dest=x", "type=local,dest=afile", "type=tar,dest=adir", "type=local,dest",
		`type="local`, "type=local,dest=sub,mode=delete", "type=local,dest=..,mode=delete", "type=local,dest=x,mode=bogus",
		"type=local,dest=x,platform-split=false", "type=image,name=r.example/a,push=true,registry.token=S3cret99",
		"type=tar,dest=afile/x", "type=local,dest=adir",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		t.Chdir(dir) // here, not before f.Fuzz: Go reads testdata/fuzz relative to the working directory
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		ours, err := ParseOutputs([]string{v}, "", false)
		checkFlagError(t, "--output", err, v)
		if fields, err := csvvalue.Fields(v, nil); err != nil || len(fields) != 1 || fields[0] != v || strings.HasPrefix(v, "type=") {
			// (A value of one field, not type=, is a path: -o PATH, shown as any destination is.)
			checkNoSecretShown(t, func(vs []string) error { _, err := ParseOutputs(vs, "", false); return err }, v)
		}
		theirs, berr := buildxOutputs([]string{v})
		if (err != nil) != (berr != nil) {
			t.Fatalf("-o %q: ours %v, buildx's %v", v, err, berr)
		}
		if err != nil {
			return
		}
		if !slices.EqualFunc(ours, theirs, sameExport) {
			t.Fatalf("-o %q: ours %+v, buildx's %+v", v, ours, theirs)
		}
		for _, e := range ours {
			if e.Type == "" || e.Type == "registry" || e.DestIsDir && (e.Dest == "" || e.Dest == "-") {
				t.Errorf("-o %q: %+v", v, e)
			}
		}
	})
}

func FuzzParseAnnotations(f *testing.F) {
	for _, v := range []string{
		"a=b", "com.example=a", "manifest:com.example=a", "bad:com.example=a", "manifest[plat/form]:com.example=a",
		"index,manifest:com.example=a", "index,manifest[linux/arm64]:com.example=a", "index:org.opencontainers.image.source=https://github.com/o/r",
		"manifest-descriptor:k=v", "index-descriptor:k=v", "manifest[linux/arm/v7]:k=v", "manifest[linux/arm64,index:k=v",
		"novalue", "=v", "a=b=c", "index:k:with:colons=v", "Index:k=v", "manifest[]:k=v", ":k=v", "manifest,:k=v",
		"manifest[linux/aarch64]:k=v", "bad:k=S3cret99",
	} {
		f.Add(v)
	}
	levels := []string{"", exptypes.AnnotationIndex, exptypes.AnnotationIndexDescriptor, exptypes.AnnotationManifest, exptypes.AnnotationManifestDescriptor}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || len(v) > flagtest.MaxValue {
			t.Skip()
		}
		ours, err := ParseAnnotations([]string{v})
		theirs, berr := buildflags.ParseAnnotations([]string{v})
		if (err != nil) != (berr != nil) {
			t.Fatalf("--annotation %q: ours %v, buildx's %v", v, err, berr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "--annotation") {
				t.Errorf("--annotation %q: error %q does not name the flag", v, err)
			}
			// The value may hold a secret: only its key is shown.
			if k, _, ok := strings.Cut(v, "="); ok && !strings.Contains(k, flagtest.SecretMarker) {
				if _, err := ParseAnnotations([]string{k + "=" + flagtest.SecretMarker}); err != nil && strings.Contains(err.Error(), flagtest.SecretMarker) {
					t.Errorf("--annotation %q: error %q shows the value", k+"="+flagtest.SecretMarker, err)
				}
			}
			return
		}
		if !maps.Equal(annotationStrings(ours), annotationStrings(theirs)) {
			t.Fatalf("--annotation %q: ours %v, buildx's %v", v, annotationStrings(ours), annotationStrings(theirs))
		}
		for k := range ours {
			if !slices.Contains(levels, k.Type) {
				t.Errorf("--annotation %q: level %q", v, k.Type)
			}
			// Kept as buildx keeps it ("Arm" is linux/arm, as buildx's, not linux/arm/v7): what
			// matches it against a step's platform normalizes both (AnnotationsAt).
			if k.Platform != nil {
				if _, err := platforms.Parse(platforms.Format(platforms.Normalize(*k.Platform))); err != nil {
					t.Errorf("--annotation %q: platform %s does not parse once normalized: %v", v, platforms.Format(*k.Platform), err)
				}
			}
		}
	})
}

func FuzzParseCall(f *testing.F) {
	for _, v := range []string{"build", "check", "outline", "targets", "check,format=json", "outline,format=json,ignorestatus=true",
		"lint,ignorestatus=maybe", "check,outline", "format=json", "foo=bar", "subrequests.describe", `"check`, "Check", "build,format=json"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		ours, err := ParseCall(v)
		if err != nil && !strings.Contains(err.Error(), "--call") {
			t.Errorf("--call %q: error %q does not name the flag", v, err)
		}
		theirs, berr := buildflags.ParseCallFunc(v)
		if (err != nil) != (berr != nil) {
			t.Fatalf("--call %q: ours %v, buildx's %v", v, err, berr)
		}
		if err != nil {
			return
		}
		same := (ours == nil) == (theirs == nil) && (ours == nil || ours.Name == theirs.Name && ours.Format == theirs.Format && ours.IgnoreStatus == theirs.IgnoreStatus)
		if !same {
			t.Fatalf("--call %q: ours %+v, buildx's %+v", v, ours, theirs)
		}
	})
}

// sameExport is sameOutput, except that a destination given to an exporter that takes none (one
// this version does not know: the build refuses it as BuildKit does) is not compared: buildx
// drops it where ours keeps it, and neither writes it.
func sameExport(o Output, e client.ExportEntry) bool {
	switch o.Type {
	case client.ExporterLocal, client.ExporterTar, client.ExporterOCI, client.ExporterDocker:
		return sameOutput(o, e)
	}
	return o.Type == e.Type && maps.Equal(o.Attrs, e.Attrs) && !o.DestIsDir && e.OutputDir == "" && e.Output == nil
}
