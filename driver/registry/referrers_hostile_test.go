package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func serveJSON(w http.ResponseWriter, header map[string]string, body string) {
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	for k, v := range header {
		w.Header().Set(k, v)
	}
	_, _ = w.Write([]byte(body))
}

// A list that lags behind the push (always empty, as a registry's cache can be) does not fail
// the publish: the referrer just pushed is read back by its digest.
func TestReferrerReadBackByDigest(t *testing.T) {
	f := newFakeRegistry(t)
	f.SetReferrers(true)
	f.SetHook(func(r *fakeReq) action {
		if r.Kind == "referrers" {
			return action{Serve: func(w http.ResponseWriter, _ *http.Request) { serveJSON(w, nil, `{"schemaVersion":2,"manifests":[]}`) }}
		}
		return action{}
	})
	c := newTestClient(t, 5*time.Second)
	pub := f.publishSigned(c, newTestKey(t), f.seedAttested("app", "linux/amd64"), "v1")
	if len(pub.Signed.Referrers) != 1 || len(f.sigReferrers("app", pub.Index.Digest)) != 1 {
		t.Errorf("with a lagging list: %+v", pub.Signed)
	}
}

// Registries that answer the referrers question with 401 (no challenge), 403 or 406 serve no
// referrers API for this client: the publish goes on with the signature tags alone.
func TestReferrersNotServedAnswers(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotAcceptable} {
		f := newFakeRegistry(t)
		f.SetReferrers(true)
		f.SetHook(func(r *fakeReq) action {
			if r.Kind == "referrers" {
				return action{Serve: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }}
			}
			return action{}
		})
		c := newTestClient(t, 5*time.Second)
		key := newTestKey(t)
		pub := f.publishSigned(c, key, f.seedAttested("app", "linux/amd64"), "v1")
		if len(pub.Signed.Referrers) != 0 || !f.signedBy("app", pub.Index.Digest, key) {
			t.Errorf("%d: %+v", status, pub.Signed)
		}
	}
}

// The list's second page (Link: rel="next") is read; a next link to another host is not
// followed, nor a referrer's URLs: the registry's words send no request elsewhere.
func TestReferrersPagesAndNoRequestElsewhere(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	f, c, key, amd64, pub := publishedWithReferrers(t)
	if err := c.deleteTag(context.Background(), mustLocation(t, f.Ref("app", SignatureTag(pub.Index.Digest)))); err != nil {
		t.Fatal(err)
	}
	refs := f.sigReferrers("app", pub.Index.Digest)
	if len(refs) != 1 {
		t.Fatalf("%d referrers", len(refs))
	}
	var refDigest digest.Digest
	for d := range refs {
		refDigest = d
	}
	base := "/v2/app/referrers/" + pub.Index.Digest.String()
	f.SetHook(func(r *fakeReq) action {
		if r.Kind != "referrers" {
			return action{}
		}
		return action{Serve: func(w http.ResponseWriter, hr *http.Request) {
			if hr.URL.Query().Get("page") == "" {
				// page 1: one entry whose URLs point elsewhere (a manifest this key did not sign)
				entry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + amd64.Digest.String() + `","size":` +
					itoa(amd64.Size) + `,"artifactType":"` + CosignSignatureArtifactType + `","urls":["` + other.URL + `/x"]}`
				serveJSON(w, map[string]string{"Link": "<" + base + "?page=2>; rel=\"next\""}, `{"schemaVersion":2,"manifests":[`+entry+`]}`)
				return
			}
			entry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + refDigest.String() + `","size":` +
				itoa(int64(len(f.Manifest("app", refDigest)))) + `,"artifactType":"` + CosignSignatureArtifactType + `"}`
			serveJSON(w, map[string]string{"Link": "<" + other.URL + base + "?page=3>; rel=\"next\""}, `{"schemaVersion":2,"manifests":[`+entry+`]}`)
		}}
	})
	st, served, err := c.referrerSignatures(context.Background(), f.Host+"/app", pub.Index.Digest, key, "")
	if err != nil || !served || !st.Valid {
		t.Errorf("the signature on page 2: %+v served %v, %v", st, served, err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests went to another host", n)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A list of millions of tiny entries is read entry by entry up to a bound, not all into memory;
// referrers that cannot be read are given up on after a few.
func TestReferrersHugeListAndUnreadable(t *testing.T) {
	f := newFakeRegistry(t)
	d := f.SeedImage("app", "v1", "linux/amd64").Digest
	f.SetReferrers(true)
	huge := `{"manifests":[` + strings.Repeat(`{},`, (MaxManifestSize-64)/3) + `{}]}`
	var fetched atomic.Int32
	f.SetHook(func(r *fakeReq) action {
		switch {
		case r.Kind == "referrers" && r.Ref == d.String():
			return action{Serve: func(w http.ResponseWriter, _ *http.Request) { serveJSON(w, nil, huge) }}
		case r.Kind == "referrers":
			entries := make([]string, 20)
			for i := range entries {
				entries[i] = `{"digest":"` + digest.FromString(itoa(int64(i))).String() + `","size":100,"artifactType":"` + CosignSignatureArtifactType + `"}`
			}
			return action{Serve: func(w http.ResponseWriter, _ *http.Request) {
				serveJSON(w, nil, `{"manifests":[`+strings.Join(entries, ",")+`]}`)
			}}
		case r.Kind == "manifest" && strings.HasPrefix(r.Ref, "sha256:") && r.Ref != d.String():
			fetched.Add(1)
			return action{Status: http.StatusInternalServerError}
		}
		return action{}
	})
	c := newTestClient(t, 5*time.Second)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := c.referrersOf(context.Background(), f.Host+"/app", d)
	runtime.ReadMemStats(&after)
	if err != nil || !l.served || !l.cut || len(l.sigs) != 0 {
		t.Errorf("the huge list: %+v, %v", l, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("reading the huge list allocated %d MiB", alloc>>20)
	}
	st, _, err := c.referrerSignatures(context.Background(), f.Host+"/app", digest.FromString("other"), newTestKey(t), "")
	if err != nil || st.Valid || !strings.Contains(st.Problem, "could not be read") || fetched.Load() > maxUnreadableReferrers*3 {
		t.Errorf("20 unreadable referrers: %+v, %v, %d fetches", st, err, fetched.Load())
	}
}
