package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	remoteserrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
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
	before    []*manifest // nil: the tag did not exist
	attempted []bool      // the tag may have moved (its PUT was sent)
	didMove   []bool      // the tag did move (its PUT succeeded)
	unsettled []bool      // its PUT got no answer (cut off, interrupted, connection lost): it counts as applied
	stopped   bool        // the publish was interrupted: undo watches briefly
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
	}
	return tx, nil
}

// current is the manifest a tag points at, or nil when the tag does not exist.
func (c *Client) current(ctx context.Context, t *imagetools.Location) (*manifest, error) {
	dt, desc, err := c.get(ctx, t.String())
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &manifest{desc: desc, dt: dt}, nil
}

// moveAll points the tags at the index one by one, the tags that existed first and the new ones
// last (a registry that cannot delete a tag cannot take a new one back, so the tags most likely
// to fail go first); it stops at the first failure or interrupt. Each tag is read again just
// before its move: one that another publisher moved since begin read it stops the publish,
// rather than being overwritten and then, on a rollback, set back over their index.
func (tx *tagTx) moveAll(ctx context.Context) error {
	for _, i := range tx.moveOrder() {
		t := tx.tags[i]
		if ctx.Err() != nil {
			return fmt.Errorf("publishing interrupted before tag %s: %w", t, context.Cause(ctx))
		}
		if err := tx.unchangedSinceBegin(ctx, i); err != nil {
			return err
		}
		tx.attempted[i] = true
		if err := tx.putSettled(ctx, i); err != nil {
			return fmt.Errorf("pushing the index to tag %s: %w", t, err)
		}
		tx.didMove[i] = true
	}
	return nil
}

// interruptGrace is how long a tag PUT already sent may still answer after an interrupt, so that
// its outcome is known instead of guessed; settleWatch is how long, after an interrupt, an
// unanswered one is watched for a late landing (a timed-out one is watched for the timeout).
const (
	interruptGrace = time.Second
	settleWatch    = 1500 * time.Millisecond
)

// putSettled moves tag i, letting a PUT already sent finish for interruptGrace after an interrupt.
// A PUT without an answer from the registry (cut off, interrupted, the connection lost) may still
// be applied: it is marked unsettled, and undo counts it as applied.
func (tx *tagTx) putSettled(ctx context.Context, i int) error {
	sctx, stop := settling(ctx, interruptGrace)
	defer stop()
	err := tx.c.put(sctx, tx.tags[i], tx.index, tx.json)
	if err != nil && !answered(err) {
		tx.unsettled[i] = true
	}
	return err
}

// settling is a context that ends grace after ctx does (or when stopped), with ctx's cause.
func settling(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var timer *time.Timer
	var mu sync.Mutex
	unwatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, func() { cancel(context.Cause(ctx)) })
	})
	return sctx, func() {
		unwatch()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
}

// answered tells whether a failed PUT is known not to have been applied: the registry answered
// with a status (refused, unauthorized, forbidden), or the connection was refused before anything
// was sent.
func answered(err error) bool {
	var status remoteserrors.ErrUnexpectedStatus
	return errors.As(err, &status) || errdefs.IsUnauthorized(err) || errdefs.IsPermissionDenied(err) || errors.Is(err, syscall.ECONNREFUSED)
}

// moveOrder is the tags' order of moving: those that existed, then the new ones.
func (tx *tagTx) moveOrder() []int {
	var old, created []int
	for i := range tx.tags {
		if tx.before[i] != nil {
			old = append(old, i)
		} else {
			created = append(created, i)
		}
	}
	return append(old, created...)
}

// unchangedSinceBegin reads a tag again: it must still be where begin found it.
func (tx *tagTx) unchangedSinceBegin(ctx context.Context, i int) error {
	t := tx.tags[i]
	m, err := tx.c.current(ctx, t)
	if err != nil {
		return fmt.Errorf("reading tag %s before moving it: %w", t, err)
	}
	was, now := digestOf(tx.before[i]), digestOf(m)
	if was != now {
		return fmt.Errorf("tag %s was moved by another publisher while this one ran (it was %s, it is %s): this publish stops", t, orNone(was), orNone(now))
	}
	return nil
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

// TagState is where a tag was before a publish and where it is now.
type TagState struct {
	Tag     string        `json:"tag"`
	Before  digest.Digest `json:"before,omitempty"` // "": the tag did not exist
	Now     digest.Digest `json:"now,omitempty"`    // "": the tag does not exist (or Unknown)
	Index   digest.Digest `json:"-"`                // the index the publish wrote
	Touched bool          `json:"-"`                // the publish moved it (and may have put it back)
	Unknown bool          `json:"unknown,omitempty"`
	Note    string        `json:"note,omitempty"`
}

// String says where the tag is, in words.
func (s TagState) String() string {
	var what string
	switch {
	case s.Unknown:
		what = "unknown (it could not be read back); before this publish it was " + orNone(s.Before)
	case s.Now == s.Before && s.Before == "":
		what = "does not exist (as before)"
	case s.Now == s.Before && s.Touched && s.Now != s.Index:
		what = "put back to " + s.Now.String() + " (as before)"
	case s.Now == s.Before:
		what = "unchanged at " + s.Now.String()
	case s.Now == s.Index && s.Before == "":
		what = "created at " + s.Now.String() + " (this publish's index)"
	case s.Now == s.Index:
		what = "moved to " + s.Now.String() + " (this publish's index; was " + s.Before.String() + ")"
	case s.Now == "":
		what = "removed (it was " + s.Before.String() + ")"
	default:
		what = "at " + s.Now.String() + ", written by another publisher (was " + orNone(s.Before) + ")"
	}
	if s.Note != "" {
		what += ": " + s.Note
	}
	return s.Tag + " " + what
}

func orNone(d digest.Digest) string {
	if d == "" {
		return "absent"
	}
	return d.String()
}

// PublishError is a publish that did not complete: why, and where every tag is now.
type PublishError struct {
	Err  error
	Tags []TagState
}

func (e *PublishError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	for _, t := range e.Tags {
		b.WriteString("\n  tag ")
		b.WriteString(t.String())
	}
	return b.String()
}

func (e *PublishError) Unwrap() error { return e.Err }

// Revert puts back the tags of finished publications, as a failed publish puts back its own, when
// a later step of the same command fails (the local --load): every tag still at its
// publication's index goes back to where it was before (a tag that did not exist is removed
// again), one another publisher moved since is left to them. The error, a *PublishError wrapping
// cause, says where every tag is.
func (c *Client) Revert(ctx context.Context, pubs []Publication, cause error) error {
	var all []TagState
	for _, pub := range pubs {
		tx, err := c.reverting(ctx, pub)
		if err != nil {
			return fmt.Errorf("%w; putting the tags back failed: %w", cause, err)
		}
		var pe *PublishError
		if errors.As(tx.abort(ctx, cause), &pe) {
			all = append(all, pe.Tags...)
		}
	}
	return &PublishError{Err: fmt.Errorf("%w: the tags this command moved are put back", cause), Tags: all}
}

// reverting is the transaction a publication was, every tag's move done, its old manifest read
// again by digest.
func (c *Client) reverting(ctx context.Context, pub Publication) (*tagTx, error) {
	n := len(pub.Tags)
	tx := &tagTx{c: c, index: pub.Index, tags: make([]*imagetools.Location, n), before: make([]*manifest, n),
		attempted: make([]bool, n), didMove: make([]bool, n), unsettled: make([]bool, n)}
	for i, s := range pub.Tags {
		loc, err := imagetools.ParseLocation(s.Tag)
		if err != nil {
			return nil, err
		}
		tx.tags[i], tx.attempted[i], tx.didMove[i] = loc, true, true
		if s.Before != "" {
			dt, desc, err := c.get(ctx, loc.Name()+"@"+s.Before.String())
			if err != nil {
				return nil, fmt.Errorf("reading %s's earlier index: %w", s.Tag, err)
			}
			tx.before[i] = &manifest{desc: desc, dt: dt}
		}
	}
	return tx, nil
}
