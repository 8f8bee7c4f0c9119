package contexts

import (
	"context"
	"fmt"
	"time"
)

// Saved is a context as it was before a write, or the fact that it did not exist, so that a
// command that writes several nodes can put the ones it wrote back when a later step fails.
type Saved struct {
	name   string
	before *snapshot // nil: the context did not exist
}

// Name is the name of the saved context.
func (s Saved) Name() string { return s.name }

// Save records a context as it is now: its metadata and its endpoints' TLS files.
func (n *Nodes) Save(name string) (Saved, error) {
	existing, err := n.lookup(name)
	if err != nil || existing == nil {
		return Saved{name: name}, err
	}
	snap, err := n.snapshot(*existing)
	if err != nil {
		return Saved{}, err
	}
	return Saved{name: name, before: snap}, nil
}

// Restore puts a saved context back as it was, TLS files included, under the store's lock
// (waiting for it at most timeout); a context that did not exist is removed.
func (n *Nodes) Restore(ctx context.Context, s Saved, timeout time.Duration) error {
	release, err := n.lock(ctx, timeout)
	if err != nil {
		return fmt.Errorf("putting context %q back: %w", s.name, err)
	}
	defer release()
	return n.restoreLocked(s)
}

// restoreLocked is Restore with the store's lock held.
func (n *Nodes) restoreLocked(s Saved) error {
	if s.before == nil {
		if err := n.store.Remove(s.name); err != nil {
			return fmt.Errorf("removing context %q again: %w", s.name, err)
		}
		return nil
	}
	meta := s.before.meta
	if node, isNode, err := nodeFromMetadata(meta); err == nil && isNode {
		// The node's data typed again, so that its context is written as Add wrote it, byte for byte.
		if typed, err := withNodeData(meta, &node.Data); err == nil {
			meta = typed
		}
	}
	if err := n.store.CreateOrUpdate(meta); err != nil {
		return fmt.Errorf("putting context %q back: %w", s.name, err)
	}
	if err := n.putTLS(s.name, s.before); err != nil {
		return fmt.Errorf("putting the TLS files of context %q back: %w", s.name, err)
	}
	return nil
}
