package runner

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/nodes"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// solveRef is a solve's reference: the run's ID (16 hex digits) and 9 characters of a new one,
// as long as BuildKit's own (25); a new one alone without a run ID; then the build's mark
// (nodes.RefMark) when it has a portable key.
func solveRef(runID, cacheKey string) string {
	id := identity.NewID()
	if len(cacheKey) > 24 || strings.Trim(cacheKey, "0123456789abcdef") != "" {
		cacheKey = ""
	}
	if len(runID) != 16 || strings.Trim(runID, "0123456789abcdef") != "" {
		return id + nodes.RefMark(cacheKey)
	}
	return runID + id[:9] + nodes.RefMark(cacheKey)
}

// argMasker masks in a text the values of the build arguments named as secrets (BuildKit's
// linter rule) and URL credentials, then cuts it to limit: whole values masked before anything is
// cut.
func argMasker(args map[string]string, limit int) func(string) string {
	var values []string
	for k, v := range args {
		if len(v) >= minMasked && redact.SecretKey(k) {
			values = append(values, v)
		}
	}
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) }) // the longest first
	return func(s string) string {
		for _, v := range values {
			s = strings.ReplaceAll(s, v, redact.Mask)
		}
		return bounded.Cut(redact.Text(s), limit)
	}
}

// Caps on what a step's record of its vertices keeps (BuildKit's answers are untrusted).
const (
	maxVertices   = 500
	maxVertexName = 200     // what is kept of a name or an error, once masked
	maxVertexText = 4 << 10 // what is held of one while the step runs
)

// Vertex is one step of a platform's build as BuildKit reported it: its name, when it ran,
// whether it came from the cache, and its error.
type Vertex struct {
	Name      string    `json:"name"`
	Started   time.Time `json:"started,omitzero"`
	Completed time.Time `json:"completed,omitzero"`
	Cached    bool      `json:"cached,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// vertexRecord gathers the vertices of one step's progress, in the order BuildKit first named them.
type vertexRecord struct {
	mu    sync.Mutex
	order []digest.Digest
	byID  map[digest.Digest]*Vertex
}

func (l *vertexRecord) add(vs []*client.Vertex) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[digest.Digest]*Vertex{}
	}
	for _, v := range vs {
		if v == nil || v.Name == "" {
			continue
		}
		rec, ok := l.byID[v.Digest]
		if !ok {
			if len(l.order) >= maxVertices {
				continue
			}
			rec = &Vertex{}
			l.byID[v.Digest] = rec
			l.order = append(l.order, v.Digest)
		}
		rec.Name = bounded.Cut(v.Name, maxVertexText)
		if v.Started != nil {
			rec.Started = *v.Started
		}
		if v.Completed != nil {
			rec.Completed = *v.Completed
		}
		rec.Cached = rec.Cached || v.Cached
		if v.Error != "" {
			rec.Error = bounded.Cut(v.Error, maxVertexText)
		}
	}
}

// vertices are the step's vertices so far, in order.
func (l *vertexRecord) vertices() []Vertex {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Vertex, 0, len(l.order))
	for _, d := range l.order {
		out = append(out, *l.byID[d])
	}
	return out
}

// CachedSteps counts a platform's build steps (the Dockerfile's RUN, COPY and their like:
// BuildKit's "[stage n/m]" vertices; neither its internal ones, such as loading the definition,
// nor a FROM, which BuildKit resolves rather than builds and never reports as cached) and how many
// of them came from the cache.
func CachedSteps(vs []Vertex) (cached, steps int) {
	for _, v := range vs {
		if internalVertex(v.Name) || strings.Contains(v.Name, "] FROM ") {
			continue
		}
		steps++
		if v.Cached {
			cached++
		}
	}
	return cached, steps
}

// internalVertex: BuildKit's own bookkeeping ("[internal] load ...", exporting, pushing), not
// a step of the Dockerfile.
func internalVertex(name string) bool {
	return slices.ContainsFunc([]string{"[internal]", "internal]", "exporting", "importing cache", "pushing", "[auth]", "resolve image config", "[publish]", "[test]"},
		func(p string) bool { return strings.Contains(strings.ToLower(name), p) })
}

// minMasked is the shortest build-argument value masked in what is kept of the steps: shorter
// ones (a "1", "true") would mask half of every name, and are no secret.
const minMasked = 4

// maskArgValues replaces, in the steps' names and errors (BuildKit shows a RUN line with its
// build arguments expanded), the value of every build argument whose name says it is a secret
// (BuildKit's own rule, redact.SecretKey) and every URL's credentials, then cuts
// them to maxVertexName: the history and the report keep no value the command line had (a token
// passed as --build-arg, which buildx warns of) nor a password a Dockerfile wrote in a URL.
func maskArgValues(vs []Vertex, args map[string]string) []Vertex {
	mask := argMasker(args, maxVertexName)
	for i := range vs {
		vs[i].Name, vs[i].Error = mask(vs[i].Name), mask(vs[i].Error)
	}
	return vs
}
