package bake

import (
	"slices"
	"strings"
	"testing"
)

func TestOrderPutsEveryTargetAfterTheOnesItUses(t *testing.T) {
	deps := map[string][]string{
		"app":    {"base", "assets"},
		"assets": {"base"},
		"base":   nil,
		"tool":   nil,
		"worker": {"app"},
	}
	got, err := order(deps)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "assets", "app", "tool", "worker"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for n, ds := range deps {
		for _, d := range ds {
			if pos[d] > pos[n] {
				t.Errorf("%s comes before %s, which it uses", n, d)
			}
		}
	}
	if used := usedAsContext(deps); !used["base"] || !used["assets"] || !used["app"] || used["worker"] || used["tool"] {
		t.Errorf("used as context: %v", used)
	}
}

func TestOrderRefusesCyclesNamingThem(t *testing.T) {
	for _, tc := range []struct {
		deps map[string][]string
		want string
	}{
		{map[string][]string{"a": {"a"}}, "a -> a"},
		{map[string][]string{"a": {"b"}, "b": {"a"}}, "a -> b -> a"},
		{map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"b"}, "d": nil}, "b -> c -> b"},
		{map[string][]string{"a": {"missing"}}, "target a uses target missing as a context, and the definition has no such target"},
	} {
		_, err := order(tc.deps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.deps, err, tc.want)
		}
	}
}
