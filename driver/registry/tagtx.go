package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// tagTx is one publish of an index to several tags: what every tag held before, and how far the
// move went, so that it can be undone.
type tagTx struct {
	c         *Client
	tags      []*imagetools.Location
	index     ocispec.Descriptor
	json      []byte
	before    []*manifest  // nil: the tag did not exist
	attempted []bool       // the tag may have moved (its PUT was sent)
	didMove   []bool       // the tag did move (its PUT succeeded)
	unsettled []bool       // its PUT got no answer (cut off, interrupted, connection lost): it counts as applied
	stopped   bool         // the publish was interrupted: undo watches briefly
	signed    Signed       // what begin signed before any tag moved
	halt      *atomic.Bool // set when another set of the same publish failed: move no further tag (nil: none)
}

type manifest struct {
	desc ocispec.Descriptor
	dt   []byte
}

// begin reads every tag's current manifest, then pushes the index by digest to every repository
// of the tags: nothing a user pulls by tag has changed yet.
func (c *Client) begin(ctx context.Context, tags []*imagetools.Location, idx MergeResult) (*tagTx, error) {
	tx := &tagTx{c: c, tags: tags, index: idx.Index, json: idx.JSON, before: make([]*manifest, len(tags)),
		attempted: make([]bool, len(tags)), didMove: make([]bool, len(tags)), unsettled: make([]bool, len(tags))}
	eg, ectx := errgroup.WithContext(ctx)
	for i, t := range tags {
		eg.Go(func() error {
			m, err := c.current(ectx, t)
			tx.before[i] = m
			if err != nil {
				return fmt.Errorf("reading tag %s before publishing: %w", t, err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	pushed := map[string]bool{}
	for _, t := range tags {
		if pushed[t.Name()] {
			continue
		}
		pushed[t.Name()] = true
		loc, err := imagetools.ParseLocation(t.Name() + "@" + idx.Index.Digest.String())
		if err != nil {
			return nil, err
		}
		if err := c.put(ctx, loc, idx.Index, idx.JSON); err != nil {
			return nil, fmt.Errorf("pushing the index by digest to %s: %w", t.Name(), err)
		}
		if err := c.signInto(ctx, t.Name(), idx, &tx.signed); err != nil { // before any tag moves
			return nil, err
		}
	}
	return tx, nil
}

func digestOf(m *manifest) digest.Digest {
	if m == nil {
		return ""
	}
	return m.desc.Digest
}

// verifyAll reads every tag back: the index just pushed, with exactly the platforms wanted.
func (tx *tagTx) verifyAll(ctx context.Context, want []string) error {
	for _, t := range tx.tags {
		if err := tx.c.verify(ctx, t.String(), tx.index.Digest, want); err != nil {
			return err
		}
	}
	return nil
}

// failVerify is a failed read-back: the publish failed, so its tags go back, whatever the cause
// (interrupted, the wrong platforms, another publisher's index on a tag — which undo leaves to
// them —, or a tag that could not be read back).
func (tx *tagTx) failVerify(ctx context.Context, err error) error {
	return tx.abort(ctx, verifyCause(ctx, err))
}

// verifyCause says why a read-back failed, and that the tags go back.
func verifyCause(ctx context.Context, err error) error {
	var other *otherIndexError
	var unread *unreadableError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("publishing interrupted while verifying: %w", context.Cause(ctx))
	case errors.As(err, &other):
		return fmt.Errorf("%w: this publish's tags are put back (a tag another publisher holds is theirs)", err)
	case errors.As(err, &unread):
		return fmt.Errorf("%w: not verified, so this publish's tags are put back", err)
	}
	return err
}

// abort puts back every tag that may have moved, then reads every tag to say where it is.
func (tx *tagTx) abort(ctx context.Context, cause error) error {
	tx.stopped = ctx.Err() != nil
	rctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	undoErrs := make([]error, len(tx.tags))
	for i := range tx.tags {
		if tx.attempted[i] {
			wg.Go(func() { undoErrs[i] = tx.undo(rctx, i) })
		}
	}
	wg.Wait()
	states := tx.states(rctx)
	failed := 0
	for i, err := range undoErrs {
		if err != nil {
			states[i].Note = err.Error()
			if !errors.Is(err, errNeverLanded) {
				failed++
			}
		}
	}
	if failed > 0 {
		cause = fmt.Errorf("%w (%d of this publish's tags could not be put back: see below)", cause, failed)
	}
	return &PublishError{Err: cause, Tags: states}
}

// undo puts one tag back as it was: its old manifest, or no tag where there was none. A tag read
// at anything but this publish's index is left alone: its move never happened, or another
// publisher wrote it since, and their index is not this publish's to undo. A tag whose PUT got no
// answer counts as applied: it is watched (for the timeout, or settleWatch after an interrupt) and
// put back once it lands; one that never lands is reported so.
func (tx *tagTx) undo(ctx context.Context, i int) error {
	t := tx.tags[i]
	if !tx.atIndex(ctx, i) {
		if tx.unsettled[i] {
			return errNeverLanded
		}
		return nil
	}
	if b := tx.before[i]; b != nil {
		if err := tx.c.put(ctx, t, b.desc, b.dt); err != nil {
			return fmt.Errorf("putting it back failed: %w", err)
		}
		return nil
	}
	if err := tx.c.deleteTag(ctx, t); err != nil {
		return fmt.Errorf("removing it again failed: %w", err)
	}
	return nil
}

// errNeverLanded notes a tag whose move got no answer and did not land while it was watched.
var errNeverLanded = errors.New("its move got no answer from the registry and had not landed when last read")

// atIndex tells whether tag i may point at this publish's index: it reads so, or cannot be read;
// after a PUT without an answer, it is read again until the watch ends, in case it lands late.
func (tx *tagTx) atIndex(ctx context.Context, i int) bool {
	until := time.Now().Add(tx.watch())
	for {
		m, err := tx.c.current(ctx, tx.tags[i])
		if err != nil {
			return true
		}
		if m != nil && m.desc.Digest == tx.index.Digest {
			tx.didMove[i] = true // (late, if its PUT timed out) so it is reported as put back
			return true
		}
		if !tx.unsettled[i] || time.Now().After(until) {
			return false
		}
		time.Sleep(lateLandingPoll)
	}
}

// watch is how long an unanswered tag PUT is watched for a late landing: the timeout, or no more
// than settleWatch once the publish was interrupted (Ctrl-C exits within seconds).
func (tx *tagTx) watch() time.Duration {
	if tx.stopped && tx.c.timeout > settleWatch {
		return settleWatch
	}
	return tx.c.timeout
}

// lateLandingPoll is how often a tag whose PUT timed out is read again.
const lateLandingPoll = 100 * time.Millisecond

// states reads every tag back (in parallel, each within the deadline) to report where it is.
func (tx *tagTx) states(ctx context.Context) []TagState {
	out := make([]TagState, len(tx.tags))
	var wg sync.WaitGroup
	for i, t := range tx.tags {
		wg.Go(func() {
			s := TagState{Tag: t.String(), Index: tx.index.Digest, Touched: tx.didMove[i]}
			if b := tx.before[i]; b != nil {
				s.Before = b.desc.Digest
			}
			m, err := tx.c.current(ctx, t)
			switch {
			case err != nil:
				s.Unknown, s.Note = true, err.Error()
			case m != nil:
				s.Now = m.desc.Digest
			}
			out[i] = s
		})
	}
	wg.Wait()
	return out
}

// moved is every tag at the index, as verified.
func (tx *tagTx) moved() []TagState {
	out := make([]TagState, len(tx.tags))
	for i, t := range tx.tags {
		out[i] = TagState{Tag: t.String(), Now: tx.index.Digest, Index: tx.index.Digest, Touched: true}
		if b := tx.before[i]; b != nil {
			out[i].Before = b.desc.Digest
		}
	}
	return out
}
