package builders

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// CacheUsage is one node's BuildKit cache: its records and their size, and what a prune could
// reclaim (records not in use). Err names why a node could not say.
type CacheUsage struct {
	Node        string        `json:"node"`
	Records     int           `json:"records"`
	Size        int64         `json:"size"`
	Reclaimable int64         `json:"reclaimable"`
	Items       []CacheRecord `json:"items,omitempty"` // --verbose
	Err         string        `json:"error,omitempty"`
}

// CacheRecord is one record of a node's cache (du --verbose).
type CacheRecord struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Size        int64     `json:"size"`
	InUse       bool      `json:"inUse,omitempty"`
	Shared      bool      `json:"shared,omitempty"`
	LastUsed    time.Time `json:"lastUsed,omitzero"`
	Description string    `json:"description,omitempty"`
}

// PruneOptions are buildx prune's: --reserved-space (that much cache is always kept; older name
// --keep-storage), --max-used-space (at most that much is kept), --min-free-space (prune until
// the disk has that much free), --filter until=DURATION (records unused for longer) and
// BuildKit's filters, --all (not only dangling records).
type PruneOptions struct {
	ReservedSpace int64
	MaxUsedSpace  int64
	MinFreeSpace  int64
	Until         time.Duration
	Filters       []string // BuildKit's prune filters ("type==regular", "id~=abc")
	All           bool
}

// PruneResult is what a prune did on one node.
type PruneResult struct {
	Node      string `json:"node"`
	Records   int    `json:"records"`
	Reclaimed int64  `json:"reclaimed"`
	Err       string `json:"error,omitempty"`
	Refused   bool   `json:"refused,omitempty"` // it answered, and refused the prune (Err says why)
}

// maxCacheRecords caps the records of one node's answer that are kept (its size is summed over all).
const maxCacheRecords = 10000

// DiskUsage asks every node of a builder for its cache, in parallel, each within timeout; a node
// that does not answer is named in its row and the others are still listed.
func (m *Manager) DiskUsage(ctx context.Context, name string, verbose bool, timeout time.Duration) ([]CacheUsage, error) {
	nodes, err := m.cacheNodes(ctx, name, timeout)
	if err != nil {
		return nil, err
	}
	out := make([]CacheUsage, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			out[i] = CacheUsage{Node: n.Endpoint}
			infos, err := deadline.Value(ctx, timeout, func(ctx context.Context) ([]*client.UsageInfo, error) {
				c, err := nodeClient(ctx, n)
				if err != nil {
					return nil, err
				}
				return c.DiskUsage(ctx)
			})
			if err != nil {
				out[i].Err = nodeError(n, err)
				return
			}
			out[i].fill(infos, verbose)
		})
	}
	wg.Wait()
	return out, nil
}

func (u *CacheUsage) fill(infos []*client.UsageInfo, verbose bool) {
	for _, in := range infos {
		if in == nil {
			continue
		}
		u.Records++
		u.Size += in.Size
		if !in.InUse {
			u.Reclaimable += in.Size
		}
		if verbose && len(u.Items) < maxCacheRecords {
			r := CacheRecord{ID: in.ID, Type: string(in.RecordType), Size: in.Size, InUse: in.InUse, Shared: in.Shared, Description: redact.Text(in.Description)}
			if in.LastUsedAt != nil {
				r.LastUsed = *in.LastUsedAt
			}
			u.Items = append(u.Items, r)
		}
	}
	slices.SortFunc(u.Items, func(a, b CacheRecord) int { return cmp.Compare(b.Size, a.Size) })
}

// Prune prunes every node of a builder, in parallel, each within timeout; a node that does not
// answer is named, the others are still pruned.
func (m *Manager) Prune(ctx context.Context, name string, o PruneOptions, timeout time.Duration) ([]PruneResult, error) {
	nodes, err := m.cacheNodes(ctx, name, timeout)
	if err != nil {
		return nil, err
	}
	opts := []client.PruneOption{client.WithKeepOpt(o.Until, o.ReservedSpace, o.MaxUsedSpace, o.MinFreeSpace)}
	if len(o.Filters) > 0 {
		opts = append(opts, client.WithFilter([]string{strings.Join(o.Filters, ",")}))
	}
	if o.All {
		opts = append(opts, client.PruneAll)
	}
	out := make([]PruneResult, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			res, err := deadline.Value(ctx, timeout, func(ctx context.Context) (PruneResult, error) {
				var res PruneResult // its own: a prune cut off at the deadline may still count into it
				c, err := nodeClient(ctx, n)
				if err != nil {
					return res, err
				}
				if o.MaxUsedSpace != 0 || o.MinFreeSpace != 0 {
					if err := checkFreeSpaceCap(ctx, c); err != nil {
						return res, err
					}
				}
				err = prune(ctx, c, opts, &res)
				if code := status.Code(err); code == codes.InvalidArgument || code == codes.Unimplemented || code == codes.FailedPrecondition {
					err = &refusal{err}
				}
				return res, err
			})
			res.Node = n.Endpoint
			if err != nil {
				var r *refusal
				res.Err, res.Refused = nodeError(n, err), errors.As(err, &r)
			}
			out[i] = res
		})
	}
	wg.Wait()
	return out, nil
}

// prune runs one node's prune, counting what it removed as BuildKit reports it.
func prune(ctx context.Context, c *client.Client, opts []client.PruneOption, res *PruneResult) error {
	ch := make(chan client.UsageInfo)
	done := make(chan struct{})
	var mu sync.Mutex
	go func() {
		defer close(done)
		for u := range ch {
			mu.Lock()
			res.Records++
			res.Reclaimed += u.Size
			mu.Unlock()
		}
	}()
	err := c.Prune(ctx, ch, opts...)
	close(ch)
	<-done
	return err
}

// refusal is a node that answered and refused (an option its BuildKit does not take, a filter it
// does not parse): not a node that did not answer.
type refusal struct{ error }

func (r *refusal) Unwrap() error { return r.error }

// checkFreeSpaceCap refuses, as buildx does, --max-used-space and --min-free-space on a BuildKit
// older than v0.17, which would ignore them and prune by the other options alone.
func checkFreeSpaceCap(ctx context.Context, c *client.Client) error {
	var caps apicaps.CapSet
	_, err := c.Build(ctx, client.SolveOpt{Internal: true}, "multiarch", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		caps = gc.BuildOpts().LLBCaps
		return nil, nil
	}, nil)
	if err != nil {
		return fmt.Errorf("reading its BuildKit's capabilities for --max-used-space/--min-free-space: %w", err)
	}
	if caps.Supports(pb.CapGCFreeSpaceFilter) != nil {
		return &refusal{errors.New("its BuildKit is older than v0.17.0, which --max-used-space and --min-free-space need (nothing pruned there)")}
	}
	return nil
}

// cacheNodes are the builder's nodes (its BuildKit daemons' companion too), sorted by name.
func (m *Manager) cacheNodes(ctx context.Context, name string, timeout time.Duration) ([]builder.Node, error) {
	t, err := m.Resolve(ctx, name, timeout)
	if err != nil {
		return nil, err
	}
	if t.Fallback {
		return nil, errors.New("no multiarch builder: give --builder NAME (see docker multiarch ls), or use docker buildx du/prune for the current context")
	}
	loaded, err := m.BuildNodes(ctx, t, timeout)
	if err != nil {
		return nil, err
	}
	var out []builder.Node
	for _, n := range loaded {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b builder.Node) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out, nil
}

// nodeClient is a node's BuildKit client when the node runs (a stopped BuildKit container holds a
// cache, but is not started for this).
func nodeClient(ctx context.Context, n builder.Node) (*client.Client, error) {
	if n.Err != nil {
		return nil, n.Err
	}
	if n.Driver == nil {
		return nil, errors.New("no driver")
	}
	info, err := n.Driver.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Status.String() != "running" {
		return nil, fmt.Errorf("its BuildKit is %s (nothing asked; the next build starts it)", info.Status)
	}
	return n.Driver.Client(ctx)
}

func nodeError(n builder.Node, err error) string {
	return fmt.Sprintf("node %s: %v", n.Endpoint, redact.Error(err))
}
