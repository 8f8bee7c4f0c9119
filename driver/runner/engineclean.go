package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// What the engine strategy removes is decided from the engine's structured answers, never from
// the build's output, which a RUN step controls: the output only names candidates (" ---> ID",
// " ---> Running in ID"), and a candidate is removed only when the engine itself says the build
// made it: a container the engine reported created while the build ran (its event stream), an
// image it reported created then (engines with the containerd store report each step's image), or
// an untagged image committed from such a container (engines with the classic store record the
// container of each step's image). A RUN that prints the ID of an image it did not make can at
// most point at another image created on that engine in the same seconds by a container of this
// build; a tagged image is never removed.

// engineFacts is what the clean-up asks a node's engine.
type engineFacts interface {
	// now is the engine's clock (event times are the engine's).
	now(ctx context.Context) (string, error)
	// creates streams the IDs of the images and containers created from since on; until ""
	// follows new ones until ctx ends, else the stream ends at until.
	creates(ctx context.Context, since, until string, add func(id string)) error
	// image is an image's own record: its tags and the container it was committed from.
	image(ctx context.Context, id string) (imageRecord, error)
}

type imageRecord struct {
	RepoTags  []string
	Container string // the build step's container (classic store; "" on others)
}

// mobyFacts are an engine's answers through its API.
type mobyFacts struct{ api client.APIClient }

func (m mobyFacts) now(ctx context.Context) (string, error) {
	info, err := m.api.Info(ctx, client.InfoOptions{})
	return info.Info.SystemTime, err
}

func (m mobyFacts) creates(ctx context.Context, since, until string, add func(string)) error {
	res := m.api.Events(ctx, client.EventsListOptions{Since: since, Until: until,
		Filters: client.Filters{}.Add("event", "create").Add("type", "image", "container")})
	for {
		select {
		case msg, ok := <-res.Messages:
			if !ok {
				return nil
			}
			add(msg.Actor.ID)
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (m mobyFacts) image(ctx context.Context, id string) (imageRecord, error) {
	var raw bytes.Buffer // the classic store's "Container" is in the engine's answer, not in the client's type
	if _, err := m.api.ImageInspect(ctx, id, client.ImageInspectWithRawResponse(&raw)); err != nil {
		return imageRecord{}, err
	}
	var rec imageRecord
	return rec, json.Unmarshal(raw.Bytes(), &rec)
}

// createdSet is what an engine reported created while a build ran.
type createdSet struct {
	mu  sync.Mutex
	ids map[string]bool // full hex IDs, without "sha256:"
}

// maxCreated bounds the set: an engine busy with far more than one build's steps is not followed
// further (what is missed stays on the engine; nothing is removed on a guess).
const maxCreated = 1 << 16

func (c *createdSet) add(id string) {
	id = strings.TrimPrefix(id, "sha256:")
	if !isHexID(id, 64) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]bool{}
	}
	if len(c.ids) < maxCreated {
		c.ids[id] = true
	}
}

// match is the one full ID an ID or its 12-character short form names, if the engine reported it.
func (c *createdSet) match(id string) (string, bool) {
	id = strings.TrimPrefix(id, "sha256:")
	if !isHexID(id, len(id)) || len(id) < 12 {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	found := ""
	for full := range c.ids {
		if strings.HasPrefix(full, id) {
			if found != "" {
				return "", false // ambiguous: nothing is removed on a guess
			}
			found = full
		}
	}
	return found, found != ""
}

func isHexID(s string, n int) bool {
	if len(s) != n || n == 0 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// engineWatch follows what an engine creates from the start of a build to its clean-up.
type engineWatch struct {
	facts   engineFacts
	timeout time.Duration
	since   string
	seen    createdSet
	stop    context.CancelFunc
	done    chan struct{}
}

// watchEngine starts following the engine's creations from its clock's now on.
func watchEngine(ctx context.Context, facts engineFacts, timeout time.Duration) (*engineWatch, error) {
	since, err := deadline.Value(ctx, timeout, facts.now)
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w := &engineWatch{facts: facts, timeout: timeout, since: since, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_ = facts.creates(wctx, since, "", w.seen.add)
	}()
	return w, nil
}

// finish stops following, after reading what the engine created up to its now (the tail the
// stream may not have delivered yet), within the deadline.
func (w *engineWatch) finish(ctx context.Context) {
	_ = deadline.Call(ctx, w.timeout, func(ctx context.Context) error {
		until, err := w.facts.now(ctx)
		if err != nil {
			return err
		}
		return w.facts.creates(ctx, w.since, until, w.seen.add)
	})
	w.stop()
	<-w.done
}

// ourImage is the image's full ID when the engine says this build made it (see above).
func (w *engineWatch) ourImage(ctx context.Context, id string) (string, bool) {
	rec, err := deadline.Value(ctx, w.timeout, func(ctx context.Context) (imageRecord, error) { return w.facts.image(ctx, id) })
	if err != nil || len(rec.RepoTags) > 0 {
		return "", false
	}
	if full, ok := w.seen.match(id); ok {
		return full, true
	}
	if _, ok := w.seen.match(rec.Container); ok && rec.Container != "" {
		return id, true
	}
	return "", false
}

// ourContainer is the container's full ID when the engine reported it created during the build.
func (w *engineWatch) ourContainer(id string) (string, bool) { return w.seen.match(id) }
