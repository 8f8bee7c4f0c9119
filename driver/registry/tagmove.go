package registry

import (
	"context"
	"fmt"
)

// moveAll points the tags at the index one by one, the tags that existed first and the new ones
// last (a registry that cannot delete a tag cannot take a new one back, so the tags most likely
// to fail go first); it stops at the first failure or interrupt. Each tag is read again just
// before its move: one that another publisher moved since begin read it stops the publish,
// rather than being overwritten and then, on a rollback, set back over their index.
func (tx *tagTx) moveAll(ctx context.Context) error {
	if err := tx.moveExisting(ctx); err != nil {
		return err
	}
	return tx.move(ctx, tx.created())
}

// moveExisting checks that the signatures made are still there, then moves the tags that
// existed (moveAll's first half).
func (tx *tagTx) moveExisting(ctx context.Context) error {
	if err := tx.c.recheckSignatures(ctx, tx.signed.refs); err != nil {
		return err
	}
	return tx.move(ctx, tx.existing())
}

// move points the tags idx at the index in turn, as moveAll says.
func (tx *tagTx) move(ctx context.Context, idx []int) error {
	for _, i := range idx {
		t := tx.tags[i]
		if ctx.Err() != nil {
			return fmt.Errorf("publishing interrupted before tag %s: %w", t, context.Cause(ctx))
		}
		if err := tx.halted(i); err != nil {
			return err
		}
		if err := tx.unchangedSinceBegin(ctx, i); err != nil {
			return err
		}
		if err := tx.halted(i); err != nil { // again: another set may have failed during the read
			return err
		}
		tx.attempted[i] = true
		if err := tx.putSettled(ctx, i); err != nil {
			return fmt.Errorf("pushing the index to tag %s: %w", t, err)
		}
		tx.didMove[i] = true
	}
	return nil
}

// halted: another set of the publish failed, so tag i is not moved.
func (tx *tagTx) halted(i int) error {
	if tx.halt != nil && tx.halt.Load() {
		return fmt.Errorf("tag %s not moved: %w", tx.tags[i], errAnotherSetFailed)
	}
	return nil
}

// existing are the tags that held something when begin read them; created, the others.
func (tx *tagTx) existing() []int { return tx.tagsWhere(true) }
func (tx *tagTx) created() []int  { return tx.tagsWhere(false) }

func (tx *tagTx) tagsWhere(existed bool) []int {
	var out []int
	for i := range tx.tags {
		if (tx.before[i] != nil) == existed {
			out = append(out, i)
		}
	}
	return out
}

// unchangedSinceBegin reads a tag again: it must still be where begin found it.
func (tx *tagTx) unchangedSinceBegin(ctx context.Context, i int) error {
	t := tx.tags[i]
	m, err := tx.c.current(ctx, t)
	if err != nil {
		return fmt.Errorf("reading tag %s before moving it: %w", t, err)
	}
	was, now := digestOf(tx.before[i]), digestOf(m)
	if was != now {
		return fmt.Errorf("tag %s was moved by another publisher while this one ran (it was %s, it is %s): this publish stops", t, orNone(was), orNone(now))
	}
	return nil
}
