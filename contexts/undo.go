package contexts

import (
	"fmt"
	"maps"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// tlsEndpoints are the endpoints whose TLS files a node's context may hold.
var tlsEndpoints = []string{docker.DockerEndpoint, BuildKitEndpointName}

// snapshot is a context as it was before a write: its metadata and its endpoints' TLS files.
type snapshot struct {
	meta store.Metadata
	tls  map[string]*store.EndpointTLSData // by endpoint; nil when the endpoint has no TLS files
}

// snapshot copies a context's metadata and reads its endpoints' TLS files.
func (n *Nodes) snapshot(meta store.Metadata) (*snapshot, error) {
	snap := &snapshot{meta: cloneMetadata(meta), tls: map[string]*store.EndpointTLSData{}}
	files, err := n.store.ListTLSFiles(meta.Name)
	if err != nil {
		return nil, fmt.Errorf("context %q: reading TLS files: %w", meta.Name, err)
	}
	for _, ep := range tlsEndpoints {
		for _, f := range files[ep] {
			b, err := n.store.GetTLSData(meta.Name, ep, f)
			if err != nil {
				return nil, fmt.Errorf("context %q: reading TLS file %s: %w", meta.Name, f, err)
			}
			if snap.tls[ep] == nil {
				snap.tls[ep] = &store.EndpointTLSData{Files: map[string][]byte{}}
			}
			snap.tls[ep].Files[f] = b
		}
	}
	return snap, nil
}

// putTLS writes back the TLS files of every endpoint as the snapshot holds them.
func (n *Nodes) putTLS(name string, s *snapshot) error {
	for _, ep := range tlsEndpoints {
		if err := n.store.ResetEndpointTLSMaterial(name, ep, s.tls[ep]); err != nil {
			return err
		}
	}
	return nil
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
			err = n.putTLS(name, before)
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
		return v.clone()
	case *Data:
		if v == nil {
			return v
		}
		c := v.clone()
		return &c
	case BuildKitEndpoint:
		return v
	case map[string]string:
		return maps.Clone(v)
	}
	return v
}
