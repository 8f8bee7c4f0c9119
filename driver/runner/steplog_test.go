package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"
)

// The steps a CACHED column counts: the Dockerfile's, not BuildKit's bookkeeping or a FROM; the
// record keeps each vertex once, its latest state, and no more than maxVertices.
func TestVertexRecordAndCachedSteps(t *testing.T) {
	var l vertexRecord
	now := time.Now()
	names := []string{"[internal] load build definition from Dockerfile", "[1/3] FROM r/busybox@sha256:aa", "[2/3] RUN make", "[3/3] COPY a b",
		"exporting to image", "[auth] r token for x", "importing cache manifest from r/c:cache-linux-amd64"}
	for i, n := range names {
		l.add([]*client.Vertex{{Digest: digest.FromString(n), Name: n, Started: &now}})
		if i == 2 {
			l.add([]*client.Vertex{{Digest: digest.FromString(n), Name: n, Started: &now, Completed: &now, Cached: true}})
		}
	}
	vs := l.vertices()
	if len(vs) != len(names) || !vs[2].Cached || vs[2].Completed.IsZero() {
		t.Fatalf("vertices %+v", vs)
	}
	if c, n := CachedSteps(vs); c != 1 || n != 2 {
		t.Errorf("cached %d of %d, want 1 of 2", c, n)
	}
	for i := range maxVertices + 10 {
		l.add([]*client.Vertex{{Digest: digest.FromString(string(rune(i)) + "x"), Name: "v"}})
	}
	if got := len(l.vertices()); got != maxVertices {
		t.Errorf("%d vertices kept, want the cap %d", got, maxVertices)
	}
}

// Every platform's BuildKit reference starts with the run's ID (the parts of one build found
// together), and is as long as BuildKit's own; without a valid run ID it is BuildKit's alone.
func TestSolveRef(t *testing.T) {
	a, b := solveRef("0123456789abcdef", ""), solveRef("0123456789abcdef", "")
	if len(a) != 25 || a[:16] != "0123456789abcdef" || a == b {
		t.Errorf("refs %q %q", a, b)
	}
	for _, bad := range []string{"", "short", "0123456789ABCDEF", "../../../../etc/x"} {
		if r := solveRef(bad, ""); len(r) != 25 || strings.HasPrefix(r, bad) && bad != "" {
			t.Errorf("run ID %q: ref %q", bad, r)
		}
	}
	// The build's portable key is marked at the end (routing looks for it in a node's history);
	// a key that is not short hex is left out.
	if r := solveRef("0123456789abcdef", "00ff00ff00ff00ff00ff00ff"); len(r) != 50 || !strings.HasSuffix(r, "w00ff00ff00ff00ff00ff00ff") {
		t.Errorf("with a key: %q", r)
	}
	for _, bad := range []string{"../x", "ABCDEF", strings.Repeat("a", 25)} {
		if r := solveRef("0123456789abcdef", bad); len(r) != 25 {
			t.Errorf("key %q: ref %q", bad, r)
		}
	}
}

// BuildKit names a RUN step with its build arguments expanded: what the history keeps of the
// steps holds none of their values.
func TestMaskArgValues(t *testing.T) {
	vs := maskArgValues([]Vertex{
		{Name: `[2/2] RUN curl -H "token: s3cret-token-value" https://x && echo on`},
		{Name: "[3/3] RUN false", Error: `process "/bin/sh -c curl s3cret-token-value" did not complete`},
	}, map[string]string{"TOKEN": "s3cret-token-value", "FLAG": "on", "SOURCE_DATE_EPOCH": "1700000000"})
	for _, v := range vs {
		if strings.Contains(v.Name+v.Error, "s3cret") {
			t.Errorf("a value kept: %+v", v)
		}
	}
	if !strings.HasSuffix(vs[0].Name, "&& echo on") {
		t.Errorf("a short value masked: %q", vs[0].Name)
	}
}
