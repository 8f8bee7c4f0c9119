package bake

import (
	"fmt"
	"slices"
	"strings"
)

// order checks the targets' dependencies (contexts naming another target) and returns the targets
// in an order where each comes after every target it uses (ties by name). A dependency on a target
// the definition lacks, or a cycle, is refused naming it.
func order(deps map[string][]string) ([]string, error) {
	names := sortedKeys(deps)
	for _, n := range names {
		for _, d := range deps[n] {
			if _, ok := deps[d]; !ok {
				return nil, fmt.Errorf("target %s uses target %s as a context, and the definition has no such target", n, d)
			}
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out, path []string
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			cycle := append(slices.Clone(path[slices.Index(path, n):]), n)
			return fmt.Errorf("targets use each other as contexts: %s", strings.Join(cycle, " -> "))
		}
		state[n] = visiting
		path = append(path, n)
		for _, d := range slices.Sorted(slices.Values(deps[n])) {
			if err := visit(d); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// usedAsContext are the targets another target uses as a context.
func usedAsContext(deps map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, ds := range deps {
		for _, d := range ds {
			out[d] = true
		}
	}
	return out
}
