package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/confutil"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	provenancetypes "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// provenanceMode is buildx's BUILDX_METADATA_PROVENANCE for this build: the provenance BuildKit
// recorded goes to the metadata file (min by default, max, or disabled), and nowhere without one or
// with --call, as buildx does.
func (p *parsed) provenanceMode() confutil.MetadataProvenanceMode {
	if p.MetadataFile == "" || p.call != nil {
		return confutil.MetadataProvenanceModeDisabled
	}
	return confutil.MetadataProvenance()
}

// recordProvenance reads the provenance of the build ref from the node's build history, keyed by
// platform ("" when BuildKit recorded a single result), when the mode asks for it and the node's
// BuildKit has a history API (buildx skips it otherwise too). Bounded by timeout, naming the node.
func recordProvenance(ctx context.Context, node builder.Node, c *client.Client, ref string, mode confutil.MetadataProvenanceMode, timeout time.Duration) (map[string]json.RawMessage, error) {
	if mode == confutil.MetadataProvenanceModeDisabled || node.Driver == nil || !node.Driver.HistoryAPISupported(ctx) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("node %s: BuildKit did not give the build record %s within %s", node.Name, ref, timeout))
	defer cancel()
	out, err := fetchProvenance(ctx, c, ref, mode)
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("provenance for the metadata file from node %s: %w", node.Name, err)
	}
	return out, nil
}

// maxProvenanceSize bounds a provenance attestation read from a node (a few KiB, up to a few MiB
// with mode=max and large build contexts).
const maxProvenanceSize = 32 << 20

// fetchProvenance is buildx's build/provenance.go: the record's SLSA provenance attestations, read
// from the node's content store and encoded for the metadata file.
func fetchProvenance(ctx context.Context, c *client.Client, ref string, mode confutil.MetadataProvenanceMode) (map[string]json.RawMessage, error) {
	cl, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{Ref: ref, EarlyExit: true})
	if err != nil {
		return nil, err
	}
	store := proxy.NewContentStore(c.ContentClient())
	out := map[string]json.RawMessage{}
	add := func(platform string, res *controlapi.BuildResultInfo) error {
		desc, predicateType := lookupProvenance(res)
		if desc == nil {
			return nil
		}
		if desc.Size <= 0 || desc.Size > maxProvenanceSize { // ReadBlob allocates what the descriptor says
			return fmt.Errorf("provenance blob %s from the build record: %d bytes, not 1 to %d MiB", desc.Digest, desc.Size, maxProvenanceSize>>20)
		}
		dt, err := content.ReadBlob(ctx, store, *desc)
		if err != nil {
			return fmt.Errorf("reading provenance blob %s from the build record: %w", desc.Digest, err)
		}
		prv, err := encodeProvenance(dt, predicateType, mode)
		if err != nil {
			return err
		}
		out[platform] = prv
		return nil
	}
	for {
		ev, err := cl.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if err := addRecord(ev.Record, add); err != nil {
			return nil, err
		}
	}
}

// addRecord hands each result of a build record to add: per platform, or the single result.
func addRecord(rec *controlapi.BuildHistoryRecord, add func(string, *controlapi.BuildResultInfo) error) error {
	if rec == nil {
		return nil
	}
	for platform, res := range rec.Results {
		if err := add(platform, res); err != nil {
			return err
		}
	}
	if len(rec.Results) == 0 && rec.Result != nil {
		return add("", rec.Result)
	}
	return nil
}

func lookupProvenance(res *controlapi.BuildResultInfo) (*ocispec.Descriptor, string) {
	for _, a := range res.Attestations {
		if a.MediaType == "application/vnd.in-toto+json" && strings.HasPrefix(a.Annotations["in-toto.io/predicate-type"], "https://slsa.dev/provenance/") {
			return &ocispec.Descriptor{
				Digest:      digest.Digest(a.Digest),
				Size:        a.Size,
				MediaType:   a.MediaType,
				Annotations: a.Annotations,
			}, a.Annotations["in-toto.io/predicate-type"]
		}
	}
	return nil, ""
}

// encodeProvenance is the predicate as buildx writes it: SLSA v0.2 (v1 converted), without its
// build config and metadata in min mode.
func encodeProvenance(dt []byte, predicateType string, mode confutil.MetadataProvenanceMode) (json.RawMessage, error) {
	var pred *provenancetypes.ProvenancePredicateSLSA02
	if predicateType == slsa1.PredicateSLSAProvenance {
		var pred1 *provenancetypes.ProvenancePredicateSLSA1
		if err := json.Unmarshal(dt, &pred1); err != nil {
			return nil, fmt.Errorf("reading provenance: %w", err)
		}
		if pred1 == nil { // "null": converting it would dereference nil
			return nil, errors.New("reading provenance: empty predicate")
		}
		pred = pred1.ConvertToSLSA02()
	} else if err := json.Unmarshal(dt, &pred); err != nil {
		return nil, fmt.Errorf("reading provenance: %w", err)
	}
	if pred == nil {
		return nil, errors.New("reading provenance: empty predicate")
	}
	if mode == confutil.MetadataProvenanceModeMin {
		pred.BuildConfig = nil
		pred.Metadata = nil
	}
	return json.Marshal(pred)
}

// firstProvenance is the provenance of a one-platform solve: its single result's.
func firstProvenance(prv map[string]json.RawMessage) json.RawMessage {
	for _, v := range prv {
		return v
	}
	return nil
}
