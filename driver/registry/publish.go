package registry

import (
	"context"
	"fmt"

	"github.com/docker/buildx/util/imagetools"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Publication is what a publish wrote: the index, and where every tag points now.
type Publication struct {
	Index   ocispec.Descriptor
	Entries []MergeEntry // the images of the index, by platform
	Tags    []TagState
	Signed  Signed // what was signed before the tags moved (zero: nothing)
}

// Signed says what a publish signed: how many manifests (the index and every manifest it names),
// in which repositories, with which key, in cosign's signature tags.
type Signed struct {
	Key       string   `json:"key,omitempty"`
	Manifests int      `json:"manifests,omitempty"`
	Repos     []string `json:"repositories,omitempty"`
	Referrers []string `json:"referrers,omitempty"` // the repositories whose registry serves the OCI 1.1 referrers API: signed there as referrers too
	refs      []sigRef // every signature made, read again just before the tags move
}

// PublishBuild combines the per-platform results of a build (images, or indexes with their
// attestations), pushed by digest to repo, into one index (with the given annotations) and
// publishes it to every tag (see publish). It is the merge of the platforms' results, os.version included.
func (c *Client) PublishBuild(ctx context.Context, repo string, results []ocispec.Descriptor, want, tags []string, annotations map[string]string) (Publication, error) {
	p, err := c.PrepareBuild(ctx, PublishSet{Repo: repo, Results: results, Platforms: want, Tags: tags, Annotations: annotations})
	if err != nil {
		return Publication{}, err
	}
	return c.PublishPrepared(ctx, p)
}

// Prepared is a build's index merged from its platforms' results and checked, written nowhere
// yet (PrepareBuild): what PublishPrepared publishes.
type Prepared struct {
	locs   []*imagetools.Location
	merged MergeResult
	want   []string
}

// PrepareBuild is PublishBuild's first half, which only reads: the tags checked, the platforms'
// results read and merged into the index. A build can prepare while its tests still run.
func (c *Client) PrepareBuild(ctx context.Context, s PublishSet) (Prepared, error) {
	locs, err := tagLocations(s.Tags)
	if err != nil {
		return Prepared{}, err
	}
	merged, err := c.setIndex(ctx, s)
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{locs: locs, merged: merged, want: s.Platforms}, nil
}

// PublishPrepared is PublishBuild's second half: the prepared index published to every tag (see
// publish).
func (c *Client) PublishPrepared(ctx context.Context, p Prepared) (Publication, error) {
	pub, err := c.publish(ctx, p.locs, p.merged, p.want)
	pub.Entries = p.merged.Entries
	return pub, err
}

// publish writes an index to every tag, together or not at all, as far as the registry allows:
// under this machine's lock of the tags' repositories, it reads where every tag points, pushes
// the index by digest, moves the tags one by one and reads each back. When a tag cannot be
// moved, a read-back fails, or the publish is interrupted before every tag is verified, the tags
// already moved are put back (a tag that did not exist is removed again where the registry allows
// it; a tag a concurrent writer elsewhere holds is reported and left to them, never claimed as
// verified) and the error says where every tag is.
func (c *Client) publish(ctx context.Context, tags []*imagetools.Location, idx MergeResult, want []string) (Publication, error) {
	release, err := c.lockRepos(ctx, tags)
	if err != nil {
		return Publication{}, err
	}
	defer release()
	tx, err := c.begin(ctx, tags, idx)
	if err != nil {
		return Publication{}, fmt.Errorf("%w: no tag written", err)
	}
	if err := tx.moveAll(ctx); err != nil {
		return Publication{}, tx.abort(ctx, err)
	}
	if err := tx.verifyAll(ctx, want); err != nil {
		return Publication{}, tx.failVerify(ctx, err)
	}
	return Publication{Index: idx.Index, Tags: tx.moved(), Signed: tx.signed}, nil
}

// merged platforms, in index order.
func (r MergeResult) platforms() []string {
	var out []string
	for _, e := range r.Entries {
		out = append(out, e.Platform)
	}
	return out
}
