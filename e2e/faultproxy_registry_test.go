//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The fault proxy itself, against the farm registry only (no engine, no plugin): uploads go
// through it, and its fail, hang, drop and delay rules do what the fault tests rely on.
func TestFaultProxyAgainstTheRegistry(t *testing.T) {
	fp := newFaultProxy(t, "http://"+farm.Registry)
	via := &registryClient{t: t, base: "http://" + fp.addr(), http: &http.Client{Timeout: 30 * time.Second}}
	direct := newRegistryClient(t)
	repo := uniqueRepo("faultproxy")

	// Plain pushes: the upload Locations the registry hands out lead back through the proxy.
	img := via.pushImage(repo, ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}, "hello")
	if n := fp.count("PUT", `^/v2/`+repo+`/blobs/uploads/.+`); n != 2 {
		t.Fatalf("%d blob upload PUTs through the proxy, want 2:\n%s", n, fp.dump())
	}
	manifest, _ := direct.get("/v2/"+repo+"/manifests/"+img.Digest.String(), manifestTypes)
	putTag := func(c *http.Client, tag string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPut, "http://"+fp.addr()+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
		req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}

	t.Run("fail", func(t *testing.T) {
		fp.fail("PUT", `^/v2/.+/manifests/v2$`, http.StatusForbidden, "DENIED", "no tag for you").nth(2)
		var got []int
		for range 3 {
			req, _ := http.NewRequest(http.MethodPut, "http://"+fp.addr()+"/v2/"+repo+"/manifests/v2", bytes.NewReader(manifest))
			req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
			resp, err := via.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, resp.StatusCode)
			if resp.StatusCode == http.StatusForbidden && !strings.Contains(string(body), `"code":"DENIED"`) {
				t.Errorf("error body %s", body)
			}
		}
		if fmt.Sprint(got) != "[201 403 201]" || fp.count("PUT", `/manifests/v2$`) != 3 {
			t.Fatalf("statuses %v, want [201 403 201] (only the 2nd fails):\n%s", got, fp.dump())
		}
	})

	t.Run("hang", func(t *testing.T) {
		r := fp.hang("PUT", `/manifests/v3$`)
		start := time.Now()
		_, err := putTag(&http.Client{Timeout: time.Second}, "v3")
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 3*time.Second {
			t.Fatalf("a held tag PUT: %v after %s, want a client timeout after 1s", err, time.Since(start))
		}
		fp.waitRequest("PUT", `/manifests/v3$`, time.Second)
		if tags := direct.tags(repo); strings.Contains(fmt.Sprint(tags), "v3") {
			t.Fatalf("the held PUT reached the registry: tags %v", tags)
		}
		r.remove()
		if resp, err := putTag(via.http, "v3"); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("after removing the rule: %v %v", resp, err)
		}

		// Closing the proxy releases held requests without an answer.
		fp2 := newFaultProxy(t, "http://"+farm.Registry)
		fp2.hang("GET", `^/v2/$`)
		errc := make(chan error, 1)
		go func() {
			resp, err := http.Get("http://" + fp2.addr() + "/v2/")
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("answered %s", resp.Status)
			}
			errc <- err
		}()
		fp2.waitRequest("GET", `^/v2/$`, 5*time.Second)
		fp2.close()
		select {
		case err := <-errc:
			t.Logf("held GET at close: %v", err)
			if strings.HasPrefix(err.Error(), "answered") {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("closing the proxy did not release the held GET")
		}
	})

	t.Run("drop", func(t *testing.T) {
		// A monolithic blob PUT reset after 64 KiB of 256 KiB.
		fp.drop("PUT", `/blobs/uploads/.+`, 64<<10).first(1)
		data := randomBytes(t, 256<<10)
		loc := startUpload(t, via.http, via.base, repo)
		_, err := doUpload(via.http, http.MethodPut, withDigest(loc, digest.FromBytes(data)), bytes.NewReader(data), int64(len(data)))
		t.Logf("dropped PUT: %v", err)
		if err == nil || blobExists(t, direct.base, repo, digest.FromBytes(data)) {
			t.Fatalf("a dropped blob PUT: err %v; the blob must not be in the registry", err)
		}

		// A chunked PATCH upload (unknown length) streams through, then one is reset midway.
		big := randomBytes(t, 4<<20)
		loc = startUpload(t, via.http, via.base, repo)
		resp, err := doUpload(via.http, http.MethodPatch, loc, struct{ io.Reader }{bytes.NewReader(big)}, -1)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("chunked PATCH: %v %v", resp, err)
		}
		next, _ := resp.Location()
		if next.Host != fp.addr() {
			t.Fatalf("the upload continues at %s, not through the proxy", next)
		}
		if resp, err = doUpload(via.http, http.MethodPut, withDigest(next, digest.FromBytes(big)), nil, 0); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("completing the upload: %v %v", resp, err)
		}
		if !blobExists(t, direct.base, repo, digest.FromBytes(big)) {
			t.Fatal("the chunked upload did not land")
		}

		fp.drop("PATCH", `/blobs/uploads/.+`, 1<<20)
		big = randomBytes(t, 4<<20)
		loc = startUpload(t, via.http, via.base, repo)
		_, err = doUpload(via.http, http.MethodPatch, loc, struct{ io.Reader }{bytes.NewReader(big)}, -1)
		t.Logf("dropped PATCH: %v", err)
		if err == nil || blobExists(t, direct.base, repo, digest.FromBytes(big)) {
			t.Fatalf("a dropped PATCH: err %v; the blob must not be in the registry", err)
		}

		// A drop past the end of the body loses the response of a request that did happen.
		fp.drop("PUT", `/manifests/lost$`, 1<<30)
		if _, err := putTag(via.http, "lost"); err == nil || !strings.Contains(fmt.Sprint(direct.tags(repo)), "lost") {
			t.Fatalf("a PUT whose answer is lost: err %v, tags %v; want an error and the tag", err, direct.tags(repo))
		}
		fp.clearRules()
	})

	t.Run("delay", func(t *testing.T) {
		fp.delay("GET", `^/v2/$`, 300*time.Millisecond).first(1)
		start := time.Now()
		resp, err := via.http.Get(via.base + "/v2/")
		if err != nil || resp.StatusCode != http.StatusOK || time.Since(start) < 300*time.Millisecond {
			t.Fatalf("delayed GET: %v %v after %s", resp, err, time.Since(start))
		}
		resp.Body.Close()
	})
	t.Logf("requests through the proxy:\n%s", fp.dump())
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// startUpload opens a blob upload session and returns its Location.
func startUpload(t *testing.T, c *http.Client, base, repo string) *url.URL {
	t.Helper()
	resp, err := c.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusAccepted || err != nil {
		t.Fatalf("starting an upload: %s (%v)", resp.Status, err)
	}
	return loc
}

func withDigest(loc *url.URL, d digest.Digest) *url.URL {
	u := *loc
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return &u
}

// doUpload sends body (size -1: chunked transfer encoding) to an upload Location.
func doUpload(c *http.Client, method string, loc *url.URL, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequest(method, loc.String(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func blobExists(t *testing.T, base, repo string, d digest.Digest) bool {
	t.Helper()
	resp, err := http.Head(base + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
