package contexts

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/context/store"
)

// faultyStore fails the first TLS or metadata write after arm, having half done it: TLS files
// removed, or the metadata written.
type faultyStore struct {
	store.Store
	failTLS, failMeta bool
}

func (f *faultyStore) ResetEndpointTLSMaterial(name, endpoint string, data *store.EndpointTLSData) error {
	if f.failTLS {
		f.failTLS = false
		_ = f.Store.ResetEndpointTLSMaterial(name, endpoint, nil)
		return errors.New("disk full")
	}
	return f.Store.ResetEndpointTLSMaterial(name, endpoint, data)
}

func (f *faultyStore) CreateOrUpdate(meta store.Metadata) error {
	if f.failMeta {
		f.failMeta = false
		_ = f.Store.CreateOrUpdate(meta)
		return errors.New("disk full")
	}
	return f.Store.CreateOrUpdate(meta)
}

func TestFailedForcedAddRestoresTheNodeExactly(t *testing.T) {
	const newHost = "tcp://127.0.0.2:2376"
	for _, tc := range []struct {
		name              string
		oldTLS            bool
		failTLS, failMeta bool
	}{
		{"TLS write fails", true, true, false},
		{"metadata write fails", true, false, true},
		{"TLS write fails, old node without TLS", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, s, f := newTestNodes(t)
			f.engines[newHost] = amd64Engine
			faulty := &faultyStore{Store: s}
			n.store = faulty
			old := AddOptions{Name: "box", Host: hostB, Timeout: time.Second}
			if tc.oldTLS {
				old.TLS = writeTLSFiles(t, "old")
			}
			if _, err := n.Add(context.Background(), old); err != nil {
				t.Fatal(err)
			}
			beforeNode, err := n.Get("box")
			if err != nil {
				t.Fatal(err)
			}
			beforeTLS := storedTLS(t, s, "box")

			faulty.failTLS, faulty.failMeta = tc.failTLS, tc.failMeta
			_, err = n.Add(context.Background(), AddOptions{Name: "box", Host: newHost, TLS: writeTLSFiles(t, "new"),
				Force: true, Timeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), `"box"`) {
				t.Fatalf("err = %v", err)
			}
			if got := endpointOf(t, s, "box"); got != hostB {
				t.Errorf("endpoint after the failed add = %s, want the old %s", got, hostB)
			}
			if got := storedTLS(t, s, "box"); !maps.Equal(got, beforeTLS) {
				t.Errorf("TLS files after the failed add differ from the old ones (%d files, want %d)", len(got), len(beforeTLS))
			}
			after, err := n.Get("box")
			if err != nil || !nodesEqual(after, beforeNode) {
				t.Errorf("node after the failed add = %+v, %v\nwant %+v", after, err, beforeNode)
			}
		})
	}
}

func TestCloneMetadataIsDeep(t *testing.T) {
	_, s, _ := newTestNodes(t)
	writeContext(t, s, "c", hostA)
	meta, err := s.GetMetadata("c")
	if err != nil {
		t.Fatal(err)
	}
	meta, err = withNodeData(meta, &Data{Platforms: []string{"linux/amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	c := cloneMetadata(meta)
	c.Endpoints["docker"] = "changed"
	dockerContextOf(c).AdditionalFields[MetadataKey].(*Data).Platforms[0] = "changed"
	if endpointOfMeta(meta) != hostA {
		t.Error("changing the copy's endpoints changed the original")
	}
	if p := dockerContextOf(meta).AdditionalFields[MetadataKey].(*Data).Platforms; !slices.Equal(p, []string{"linux/amd64"}) {
		t.Errorf("changing the copy's node data changed the original: %v", p)
	}
}

func endpointOfMeta(meta store.Metadata) string {
	node, _, _ := nodeFromMetadata(meta)
	return node.Endpoint
}
