package runner

import (
	"sync"
	"time"

	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/opencontainers/go-digest"
)

// vertexLog is an io.Writer whose lines go to the progress display as the logs of one vertex, so
// what an engine's classic builder prints follows --progress (nothing with quiet, JSON with
// rawjson) like BuildKit's own output.
type vertexLog struct {
	pw     progress.Writer
	dgst   digest.Digest
	name   string
	mu     sync.Mutex
	start  time.Time
	closed bool
}

func newVertexLog(pw progress.Writer, name string) *vertexLog {
	v := &vertexLog{pw: pw, dgst: digest.FromBytes([]byte(identity.NewID())), name: name, start: time.Now()}
	v.pw.Write(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: v.dgst, Name: name, Started: &v.start}}})
	return v
}

func (v *vertexLog) Write(b []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.closed && len(b) > 0 {
		v.pw.Write(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: v.dgst, Stream: 1, Data: append([]byte(nil), b...), Timestamp: time.Now()}}})
	}
	return len(b), nil
}

// done completes the vertex, with the error if the step failed.
func (v *vertexLog) done(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	now := time.Now()
	vx := &client.Vertex{Digest: v.dgst, Name: v.name, Started: &v.start, Completed: &now}
	if err != nil {
		vx.Error = err.Error()
	}
	v.pw.Write(&client.SolveStatus{Vertexes: []*client.Vertex{vx}})
}
