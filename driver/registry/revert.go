package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/buildx/util/imagetools"
)

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
