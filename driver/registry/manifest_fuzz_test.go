package registry

// Fuzz targets of what is decoded from registries and from the flags naming them: indexes and
// image configs read from a registry (inspect.go, merge.go, verify.go), tags, --annotation.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxManifest bounds a fuzzed index or config: registries refuse manifests above 4 MiB, and the
// decoders' logic is in the structure, not the size.
const maxManifest = 1 << 16

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"app", "app:1.0", "reg.example:5000/team/app:v1", "App", "app@sha256:" + strings.Repeat("a", 64),
		"app:1@sha256:" + strings.Repeat("a", 64), "localhost/app", "docker.io/library/app:latest", ":tag", "a//b", "app:", "-app"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<10 {
			t.Skip()
		}
		tagged, err := ParseTag(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("invalid tag %q", s)) {
				t.Errorf("ParseTag(%q): error %q does not name the tag", s, err)
			}
			return
		}
		if _, digested := tagged.(reference.Digested); digested || tagged.Tag() == "" {
			t.Fatalf("ParseTag(%q) = %s", s, tagged)
		}
		// Fully qualified, and read back as itself.
		back, err := ParseTag(tagged.String())
		if err != nil || back.String() != tagged.String() || reference.Domain(tagged) == "" {
			t.Fatalf("ParseTag(%q) = %s, which reads back as %v, %v", s, tagged, back, err)
		}
	})
}

func FuzzParseIndexAnnotations(f *testing.F) {
	for _, v := range []string{"org.opencontainers.image.source=https://github.com/acme/app", "index:org.opencontainers.image.licenses=MIT",
		"empty=", "manifest:a=b", "novalue", "=x", "index:", "index:=x", "com.example:k=v", "a=b:c", "index:index:k=v", "Index:k=v"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > 1<<12 {
			t.Skip()
		}
		got, err := ParseIndexAnnotations([]string{v})
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", v)) {
				t.Errorf("%q: error %q does not name the value", v, err)
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("%q: %v", v, got)
		}
		for k, val := range got {
			// The key and value as written, the level (only index) taken off.
			if k == "" || !strings.HasSuffix(v, k+"="+val) || v != k+"="+val && v != "index:"+k+"="+val {
				t.Fatalf("%q: %q=%q", v, k, val)
			}
		}
	})
}

func FuzzIndexPlatforms(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:` + strings.Repeat("a", 64) + `","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`))
	f.Add([]byte(`{"manifests":[{"platform":{"os":"LINUX","architecture":"aarch64"}},{"annotations":{"vnd.docker.reference.type":"attestation-manifest"}},{}]}`))
	f.Add([]byte(`{"manifests":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, dt []byte) {
		if len(dt) > maxManifest {
			t.Skip()
		}
		got, err := IndexPlatforms(dt)
		if err != nil {
			return
		}
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			t.Fatalf("IndexPlatforms read what json does not: %v", err)
		}
		n := 0
		for _, m := range idx.Manifests {
			if !IsAttestation(m) {
				n++
			}
		}
		if len(got) != n {
			t.Fatalf("%d platforms for %d images: %v", len(got), n, got)
		}
	})
}

// indexSeeds are indexes as registries serve them: images with platforms, attestations, Windows
// versions, and the malformed.
func indexSeeds() []string {
	d := func(s string) string { return digest.FromString(s).String() }
	att := `"annotations":{"` + attestation.DockerAnnotationReferenceType + `":"` + attestation.DockerAnnotationReferenceTypeDefault + `","` +
		attestation.DockerAnnotationReferenceDigest + `":"` + d("amd64") + `"}`
	return []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d("amd64") + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d("arm64") + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d("att") + `","size":1,"platform":{"os":"unknown","architecture":"unknown"},` + att + `}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + d("w1") + `","platform":{"os":"windows","architecture":"amd64","os.version":"10.0.17763.1"}},` +
			`{"digest":"` + d("w2") + `","platform":{"os":"windows","architecture":"amd64","os.version":"10.0.20348.1"}}]}`,
		`{"manifests":[{"digest":"` + d("a") + `","platform":{"os":"linux","architecture":"amd64"}},{"digest":"` + d("b") + `","platform":{"os":"linux","architecture":"x86_64"}}]}`,
		`{"manifests":[{"digest":"` + d("a") + `","platform":{"os":"linux","architecture":"arm","variant":"7"}},{"digest":"` + d("a") + `","platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}`,
		`{"manifests":[{"digest":"sha256:nope","platform":{"os":"linux","architecture":"amd64"}},{"digest":"` + d("x") + `"}]}`,
		`{"manifests":[]}`, `{}`, `null`, `{"manifests":[{"platform":null}]}`,
	}
}

func FuzzMergeIndex(f *testing.F) {
	for _, s := range indexSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, dt []byte) {
		if len(dt) > maxManifest {
			t.Skip()
		}
		reg := newFakeRegistry(t)
		reg.PutManifest("src", "v1", ocispec.MediaTypeImageIndex, dt)
		c := newTestClient(t, 5*time.Second)
		cs, err := c.candidates(t.Context(), reg.Ref("src", "v1"))
		if err != nil {
			return
		}
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			t.Fatalf("candidates read what json does not: %v", err)
		}
		images := 0
		for _, m := range idx.Manifests {
			if !IsAttestation(m) && m.Platform != nil {
				images++
			}
		}
		if len(cs) != images {
			t.Fatalf("%d candidates for %d images", len(cs), images)
		}
		// Every candidate an image with a normalized platform, named by a digest, with its own
		// attestations only.
		for _, cd := range cs {
			if cd.desc.Platform == nil || IsAttestation(cd.desc) {
				t.Fatalf("candidate %+v", cd.desc)
			}
			p := *cd.desc.Platform
			if platforms.Format(platforms.Normalize(p)) != platforms.Format(p) {
				t.Fatalf("candidate platform %s is not normalized", platforms.Format(p))
			}
			if err := cd.desc.Digest.Validate(); err != nil {
				t.Fatalf("candidate %q: %v", cd.desc.Digest, err)
			}
			for _, a := range cd.attests {
				if !IsAttestation(a) || a.Annotations[attestation.DockerAnnotationReferenceDigest] != cd.desc.Digest.String() || a.Digest.Validate() != nil {
					t.Fatalf("attestation %+v of %s", a, cd.desc.Digest)
				}
			}
		}
		chosen, err := choose(cs, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "--prefer") {
				t.Fatalf("choose: %v", err)
			}
			return
		}
		// What merge publishes is what its verify reads back: the index's platforms are the
		// entries'.
		res, err := indexOf(chosen, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Index.Digest != digest.FromBytes(res.JSON) || res.Index.Size != int64(len(res.JSON)) {
			t.Fatalf("index descriptor %+v", res.Index)
		}
		back, err := IndexPlatforms(res.JSON)
		if err != nil || !samePlatforms(back, res.platforms()) {
			t.Fatalf("the merged index reads back as %v, %v; its entries are %v", back, err, res.platforms())
		}
	})
}

func FuzzImageConfigPlatform(f *testing.F) {
	for _, s := range []string{
		`{"os":"linux","architecture":"amd64"}`, `{"os":"linux","architecture":"arm","variant":"v7"}`,
		`{"os":"windows","architecture":"amd64","os.version":"10.0.20348.1","os.features":["win32k"]}`,
		`{"os":"LINUX","architecture":"aarch64"}`, `{"architecture":"amd64"}`, `{}`, `null`, `[]`, `{"os":1}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, cfg []byte, windowsEntry bool) {
		if len(cfg) > maxManifest {
			t.Skip()
		}
		reg := newFakeRegistry(t)
		config := reg.PutBlob("src", cfg)
		config.MediaType = ocispec.MediaTypeImageConfig
		mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{}}
		mf.SchemaVersion = 2
		mdt, err := json.Marshal(mf)
		if err != nil {
			t.Fatal(err)
		}
		desc := reg.PutManifest("src", "", ocispec.MediaTypeImageManifest, mdt)
		if windowsEntry { // an index entry naming Windows without os.version: the config is read
			desc.Platform = &ocispec.Platform{OS: "windows", Architecture: "amd64"}
			idx, _ := json.Marshal(ocispec.Index{Versioned: mf.Versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{desc}})
			reg.PutManifest("src", "v1", ocispec.MediaTypeImageIndex, idx)
		} else {
			reg.SetTag("src", "v1", desc.Digest)
		}
		c := newTestClient(t, 5*time.Second)
		info, err := c.Inspect(t.Context(), reg.Ref("src", "v1"))
		if err != nil {
			return
		}
		var img ocispec.Image
		if err := json.Unmarshal(cfg, &img); err != nil {
			t.Fatalf("Inspect read a config json does not: %v", err)
		}
		if len(info.Manifests) != 1 {
			t.Fatalf("manifests %+v", info.Manifests)
		}
		e := info.Manifests[0]
		p := ocispec.Platform{OS: e.OS, Architecture: e.Architecture, Variant: e.Variant}
		if e.Platform != platforms.Format(p) || platforms.Format(platforms.Normalize(p)) != e.Platform || e.OSVersion != img.OSVersion {
			t.Fatalf("entry %+v for config %s", e, cfg)
		}
		if e.Digest != desc.Digest.String() || e.Size != int64(len(mdt))+int64(len(cfg)) {
			t.Fatalf("entry %+v: digest or size", e)
		}
	})
}
