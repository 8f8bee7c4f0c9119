package contexts

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// FieldServerName is the TLS server name a BuildKit node is reached with.
const FieldServerName = "servername"

// diff compares a BuildKit add with the stored node: its address, its TLS server name and files
// (when given), its platforms (as for an engine: omitted ones are detected when new, moved, or
// given before) and description.
func (plan *bkPlan) diff(ctx context.Context, n *Nodes, opts AddOptions) (AddDiff, error) {
	target, err := n.plannedTarget(opts, plan)
	if err != nil {
		return AddDiff{}, err
	}
	if plan.current == nil {
		d := AddDiff{Action: DiffCreate, Platforms: plan.platforms, BuildKit: &target}
		if len(d.Platforms) == 0 {
			d.Platforms, err = n.detectBuildKit(ctx, opts, plan.probeAt)
		}
		return d, err
	}
	node, _, err := nodeFromMetadata(*plan.current) // plan refused any other context
	if err != nil {
		return AddDiff{}, err
	}
	stored, err := n.BuildKitTarget(opts.Name)
	if err != nil {
		return AddDiff{}, err
	}
	d := AddDiff{BuildKit: &target}
	if !sameHost(stored.Host, opts.BuildKit) {
		d.Changes = append(d.Changes, Change{Field: FieldEndpoint, From: redact.URL(stored.Host), To: redact.URL(opts.BuildKit)})
	}
	if opts.ServerName != "" && opts.ServerName != stored.ServerName {
		d.Changes = append(d.Changes, Change{Field: FieldServerName, From: stored.ServerName, To: opts.ServerName})
	}
	if plan.tls != nil {
		differs, err := n.buildKitTLSDiffers(opts.Name, plan.tls.Files)
		if err != nil {
			return AddDiff{}, err
		}
		if differs {
			d.Changes = append(d.Changes, Change{Field: FieldTLS, From: "stored", To: "the files given"})
		}
	}
	detect := func() ([]string, error) { return n.detectBuildKit(ctx, opts, plan.probeAt) }
	return diffNode(d, opts, plan.platforms, node, detect)
}

// detectBuildKit probes the daemon for its native platform, as Add does when none is given.
func (n *Nodes) detectBuildKit(ctx context.Context, opts AddOptions, t BuildKitTarget) ([]string, error) {
	st, err := probeBuildKit(ctx, n.bkProber, t, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("node %q: BuildKit at %s: %w (give its platforms to add it without probing)", opts.Name, redact.URL(t.Host), err)
	}
	return []string{st.Info.Native()}, nil
}

// buildKitTLSDiffers reports whether a BuildKit node's stored TLS files differ from the given ones.
func (n *Nodes) buildKitTLSDiffers(name string, want map[string][]byte) (bool, error) {
	files, err := n.store.ListTLSFiles(name)
	if err != nil {
		return false, fmt.Errorf("node %q: TLS files: %w", name, err)
	}
	stored := files[BuildKitEndpointName]
	if !slices.Equal(slices.Sorted(slices.Values(stored)), slices.Sorted(maps.Keys(want))) {
		return true, nil
	}
	for _, f := range stored {
		b, err := n.store.GetTLSData(name, BuildKitEndpointName, f)
		if err != nil {
			return false, fmt.Errorf("node %q: TLS file %s: %w", name, f, err)
		}
		if !bytes.Equal(b, want[f]) {
			return true, nil
		}
	}
	return false, nil
}

// plannedTarget is the target a BuildKit node will have once Add(opts) has written it: its
// address, server name and the paths where the store keeps the TLS files given (or keeps them
// already).
func (n *Nodes) plannedTarget(opts AddOptions, plan *bkPlan) (BuildKitTarget, error) {
	if plan.tls == nil {
		if plan.current != nil && sameHost(opts.BuildKit, n.storedHost(*plan.current)) {
			return n.BuildKitTarget(opts.Name) // its stored TLS files are kept
		}
		return BuildKitTarget{Host: opts.BuildKit, ServerName: opts.ServerName}, nil
	}
	dir := filepath.Join(n.store.GetStorageInfo(opts.Name).TLSPath, BuildKitEndpointName)
	if plan.current == nil {
		dir = filepath.Join(n.bkStoreTLSPath(opts.Name), BuildKitEndpointName) // where a new node goes
	}
	t := BuildKitTarget{Host: opts.BuildKit, ServerName: plan.endpoint.ServerName}
	return t.withTLSFiles(dir, slices.Collect(maps.Keys(plan.tls.Files))), nil
}

// bkStoreTLSPath is where the store writes the TLS files of a new BuildKit node.
func (n *Nodes) bkStoreTLSPath(name string) string {
	if s, ok := n.store.(nodeStore); ok {
		return s.bk.GetStorageInfo(name).TLSPath
	}
	return n.store.GetStorageInfo(name).TLSPath
}
