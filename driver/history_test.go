package driver

import (
	"slices"
	"strings"
	"testing"
)

// What the history keeps of tags: only names that parse, normalized; a value that does not parse
// (it could hold anything typed) is left out.
func TestHistoryKeepsOnlyTagsThatParse(t *testing.T) {
	got := tagsOf([]string{"app", "reg.example/team/app:1", "reg.example/team/app:1", "https://user:s3cret@x/y", "BAD:Tag:x"})
	want := []string{"docker.io/library/app:latest", "reg.example/team/app:1"}
	if !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	for _, g := range got {
		if strings.Contains(g, "s3cret") {
			t.Errorf("a secret kept: %v", got)
		}
	}
}
