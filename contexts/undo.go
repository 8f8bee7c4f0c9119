package contexts

import (
	"fmt"
	"maps"
	"slices"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// snapshot is a context as it was before a write: its metadata and its Docker endpoint's TLS files.
type snapshot struct {
	meta store.Metadata
	tls  *store.EndpointTLSData // nil when the endpoint has no TLS files
}

// snapshot copies a context's metadata and reads its Docker endpoint's TLS files.
func (n *Nodes) snapshot(meta store.Metadata) (*snapshot, error) {
	snap := &snapshot{meta: cloneMetadata(meta)}
	files, err := n.store.ListTLSFiles(meta.Name)
	if err != nil {
		return nil, fmt.Errorf("context %q: reading TLS files: %w", meta.Name, err)
	}
	for _, f := range files[docker.DockerEndpoint] {
		b, err := n.store.GetTLSData(meta.Name, docker.DockerEndpoint, f)
		if err != nil {
			return nil, fmt.Errorf("context %q: reading TLS file %s: %w", meta.Name, f, err)
		}
		if snap.tls == nil {
			snap.tls = &store.EndpointTLSData{Files: map[string][]byte{}}
		}
		snap.tls.Files[f] = b
	}
	return snap, nil
}

// undo puts a context back as it was before a failed write (before nil: it did not exist), its
// TLS files too when the write touched them, and returns cause with any failure to do so.
func (n *Nodes) undo(name string, before *snapshot, tlsTouched bool, cause error) error {
	var err error
	switch {
	case before == nil:
		err = n.store.Remove(name)
	default:
		err = n.store.CreateOrUpdate(before.meta)
		if err == nil && tlsTouched {
			err = n.store.ResetEndpointTLSMaterial(name, docker.DockerEndpoint, before.tls)
		}
	}
	if err != nil {
		return fmt.Errorf("%w (putting context %q back failed too: %v)", cause, name, err)
	}
	return cause
}

// cloneMetadata deep-copies context metadata, so that changing the copy leaves the original as read.
func cloneMetadata(m store.Metadata) store.Metadata {
	out := store.Metadata{Name: m.Name, Metadata: cloneValue(m.Metadata)}
	if m.Endpoints != nil {
		out.Endpoints = cloneMap(m.Endpoints)
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// cloneValue deep-copies the values context metadata holds: JSON-decoded maps and lists, the
// Docker CLI's typed metadata and endpoints, and node data. Other values are copied as they are.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case command.DockerContext:
		v.AdditionalFields = cloneMap(v.AdditionalFields)
		return v
	case *command.DockerContext:
		if v == nil {
			return v
		}
		c := *v
		c.AdditionalFields = cloneMap(v.AdditionalFields)
		return &c
	case docker.EndpointMeta:
		return v
	case Data:
		v.Platforms = slices.Clone(v.Platforms)
		return v
	case *Data:
		if v == nil {
			return v
		}
		c := *v
		c.Platforms = slices.Clone(v.Platforms)
		return &c
	case map[string]string:
		return maps.Clone(v)
	}
	return v
}
