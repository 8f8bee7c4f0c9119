package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/docker/buildx/util/imagetools"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// PublishSet is one build's part of a publish over several builds (the targets of a bake): its
// per-platform results pushed by digest to Repo, combined into one index (with Annotations) for
// Tags, holding exactly Platforms.
type PublishSet struct {
	Name        string // what errors call the set ("target app"); "" is Repo
	Repo        string
	Results     []ocispec.Descriptor
	Platforms   []string
	Tags        []string
	Annotations map[string]string
	Signer      Signer `json:"-"` // signs the index and every manifest it names before any tag moves (nil: none)
}

// PublishMany publishes every set's index to its tags as one transaction: under this machine's
// lock of every repository involved, it reads every tag of every set and pushes every index by
// digest (the sets in parallel), moves all the tags (the sets in parallel: every set's existing
// tags, then every set's new ones), then reads every tag back (the sets in parallel). A tag that
// cannot be moved, a read-back that fails, or an interrupt before every tag is verified puts back
// every tag already moved, of every set, and the error says where each tag is. A tag named by two
// sets is refused before anything is written. The publications are in the order of sets.
func (c *Client) PublishMany(ctx context.Context, sets []PublishSet) ([]Publication, error) {
	locs, err := setLocations(sets)
	if err != nil {
		return nil, err
	}
	merged := make([]MergeResult, len(sets))
	eg, ectx := errgroup.WithContext(ctx)
	for i, s := range sets {
		eg.Go(func() (err error) {
			merged[i], err = c.setIndex(ectx, s)
			return setError(s, err)
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	release, err := c.lockRepos(ctx, slices.Concat(locs...))
	if err != nil {
		return nil, err
	}
	defer release()
	txs, err := c.beginAll(ctx, sets, locs, merged)
	if err != nil {
		return nil, err
	}
	if err := moveSets(ctx, sets, txs); err != nil {
		return nil, abortAll(ctx, txs, err)
	}
	if err := eachSet(ctx, sets, false, func(ctx context.Context, i int) error { return txs[i].verifyAll(ctx, sets[i].Platforms) }); err != nil {
		return nil, failVerifyAll(ctx, txs, err)
	}
	out := make([]Publication, len(txs))
	for i, tx := range txs {
		out[i] = Publication{Index: merged[i].Index, Entries: merged[i].Entries, Tags: tx.moved(), Signed: tx.signed}
	}
	return out, nil
}

// setLocations parses every set's tags (a tag twice in one set is one tag); a tag of two sets is
// refused, naming them.
func setLocations(sets []PublishSet) ([][]*imagetools.Location, error) {
	out := make([][]*imagetools.Location, len(sets))
	owner := map[string]string{}
	for i, s := range sets {
		locs, err := tagLocations(s.Tags)
		if err != nil {
			return nil, setError(s, err)
		}
		if len(locs) == 0 {
			return nil, setError(s, errors.New("no tag to publish to"))
		}
		for _, l := range locs {
			if other, ok := owner[l.String()]; ok {
				return nil, fmt.Errorf("tag %s is published by both %s and %s: nothing written", l, other, setName(s))
			}
			owner[l.String()] = setName(s)
		}
		out[i] = locs
	}
	return out, nil
}

// setIndex is one set's index: its results, read from its repository (in parallel), merged into
// one index with the set's annotations, which must hold exactly the set's platforms.
func (c *Client) setIndex(ctx context.Context, s PublishSet) (MergeResult, error) {
	found := make([][]candidate, len(s.Results))
	eg, ectx := errgroup.WithContext(ctx)
	for i, d := range s.Results {
		eg.Go(func() (err error) {
			found[i], err = c.candidates(ectx, s.Repo+"@"+d.Digest.String())
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return MergeResult{}, err
	}
	chosen, err := choose(slices.Concat(found...), nil)
	if err != nil {
		return MergeResult{}, err
	}
	merged, err := indexOf(chosen, false, s.Annotations)
	if err != nil {
		return MergeResult{}, err
	}
	if got := merged.platforms(); !samePlatforms(got, s.Platforms) {
		return MergeResult{}, fmt.Errorf("the platforms built are %s, not the %s requested: no tag written",
			strings.Join(got, ", "), strings.Join(s.Platforms, ", "))
	}
	return merged, nil
}

// beginAll reads every set's tags and pushes its index by digest, the sets in parallel; no tag
// has moved yet. Sets that sign go one after another: two sets may hold the same manifest in
// the same repository, and adding to its signature tag is a read and a write.
func (c *Client) beginAll(ctx context.Context, sets []PublishSet, locs [][]*imagetools.Location, merged []MergeResult) ([]*tagTx, error) {
	txs := make([]*tagTx, len(sets))
	begin := func(ctx context.Context, i int) (err error) {
		txs[i], err = c.WithSigner(sets[i].Signer).begin(ctx, locs[i], merged[i])
		return err
	}
	var err error
	if slices.ContainsFunc(sets, func(s PublishSet) bool { return s.Signer != nil }) {
		for i := range sets {
			if err = begin(ctx, i); err != nil {
				err = setError(sets[i], err)
				break
			}
		}
	} else {
		err = eachSet(ctx, sets, true, begin)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no tag written", err)
	}
	return txs, nil
}

// moveSets moves every set's tags, the sets in parallel, in moveAll's order over all of them: the
// tags that existed first, and only when every one of those moved, the new ones. The first
// failure stops every set before its next tag (a new tag a registry cannot delete is never
// created after another set failed); no request is cut, since a rollback follows (see eachSet).
func moveSets(ctx context.Context, sets []PublishSet, txs []*tagTx) error {
	var halt atomic.Bool
	for _, tx := range txs {
		tx.halt = &halt
	}
	phase := func(move func(ctx context.Context, tx *tagTx) error) error {
		return eachSet(ctx, sets, false, func(ctx context.Context, i int) error {
			err := move(ctx, txs[i])
			if err != nil {
				halt.Store(true)
			}
			return err
		})
	}
	if err := phase(func(ctx context.Context, tx *tagTx) error { return tx.moveExisting(ctx) }); err != nil {
		return err
	}
	return phase(func(ctx context.Context, tx *tagTx) error { return tx.move(ctx, tx.created()) })
}

// eachSet runs fn for every set in parallel and waits for all (every set is done or failed by
// then: nothing is left running). The error names its set: the first one's, in the sets' order,
// a set's own failure before one that only says another set failed.
// With stop, the first set to fail ends the others (their ctx ends), so a failure is not held up
// by a set whose registry is slow, and its error is the one returned (unless ctx itself ended).
// Only what no rollback follows may stop: the read-back after tags moved may not, as a request
// ended halfway leaves the registry client's token cache with the cancellation, and the rollback
// reads the tags through that client.
func eachSet(ctx context.Context, sets []PublishSet, stop bool, fn func(ctx context.Context, i int) error) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make([]error, len(sets))
	first := -1
	var once sync.Once
	var wg sync.WaitGroup
	for i := range sets {
		wg.Go(func() {
			if errs[i] = fn(sctx, i); errs[i] != nil {
				once.Do(func() {
					first = i
					if stop {
						cancel(errAnotherSetFailed)
					}
				})
			}
		})
	}
	wg.Wait()
	if first >= 0 && stop && ctx.Err() == nil {
		return setError(sets[first], errs[first])
	}
	for _, others := range []bool{false, true} { // a set's own failure before one another's ended
		for i, err := range errs {
			if err != nil && errors.Is(err, errAnotherSetFailed) == others {
				return setError(sets[i], err)
			}
		}
	}
	return nil
}

// errAnotherSetFailed ends the sets still at work when one failed (eachSet with stop).
var errAnotherSetFailed = errors.New("another set failed")

// abortAll puts back every tag of every set that may have moved, then says where every tag is.
func abortAll(ctx context.Context, txs []*tagTx, cause error) error {
	states := make([][]TagState, len(txs))
	var wg sync.WaitGroup
	for i, tx := range txs {
		wg.Go(func() {
			var pe *PublishError
			if errors.As(tx.abort(ctx, cause), &pe) {
				states[i] = pe.Tags
			}
		})
	}
	wg.Wait()
	return &PublishError{Err: cause, Tags: slices.Concat(states...)}
}

// failVerifyAll is a failed read-back of the whole publish, as failVerify is for one: every
// set's tags go back.
func failVerifyAll(ctx context.Context, txs []*tagTx, err error) error {
	return abortAll(ctx, txs, verifyCause(ctx, err))
}

func setName(s PublishSet) string {
	if s.Name == "" {
		return s.Repo
	}
	return s.Name
}

// setError names the set an error is about.
func setError(s PublishSet, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", setName(s), err)
}
