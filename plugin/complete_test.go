package plugin

import (
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
)

func completionNodes() ([]contexts.Node, []driver.StoredBuilder) {
	nodes := []contexts.Node{
		{Name: "a", Data: contexts.Data{Platforms: []string{"linux/amd64"}}},
		{Name: "b", Data: contexts.Data{Platforms: []string{"linux/amd64"}}},
		{Name: "win", Data: contexts.Data{Platforms: []string{"windows/amd64"}}},
	}
	builders := []driver.StoredBuilder{
		{Name: "ci", Nodes: []driver.StoredNode{{Node: "a", Platforms: []string{"linux/amd64"}}}},
		{Name: "multiarch", Nodes: []driver.StoredNode{
			{Node: "a", Platforms: []string{"linux/amd64", "linux/arm/v7"}},
			{Node: "b", Platforms: []string{"linux/amd64", "linux/arm64"}},
		}},
	}
	return nodes, builders
}

func TestPlatformOffers(t *testing.T) {
	nodes, builders := completionNodes()
	got := completeList(platformOffers(nodes, builders, ""), "")
	want := []string{"linux/amd64\ta, b", "windows/amd64\twin", "linux/arm/v7\temulated on a", "linux/arm64\temulated on b"}
	if !slices.Equal(got, want) {
		t.Errorf("every platform:\n got %q\nwant %q", got, want)
	}
	if got := completeList(platformOffers(nodes, builders, "ci"), ""); !slices.Equal(got, []string{"linux/amd64\ta"}) {
		t.Errorf("--builder ci: %q", got)
	}
	if got := completeList(platformOffers(nodes, builders, "nosuch"), ""); len(got) != 4 {
		t.Errorf("an unknown builder offers every platform: %q", got)
	}
}

func TestCompleteList(t *testing.T) {
	nodes, builders := completionNodes()
	offers := platformOffers(nodes, builders, "multiarch")
	for _, tc := range []struct {
		toComplete string
		want       []string
	}{
		{"linux/arm", []string{"linux/arm/v7", "linux/arm64"}},
		{"linux/amd64,", []string{"linux/amd64,linux/arm/v7", "linux/amd64,linux/arm64"}},
		{"linux/amd64,linux/arm6", []string{"linux/amd64,linux/arm64"}},
		{"windows", nil},
	} {
		var got []string
		for _, c := range completeList(offers, tc.toComplete) {
			got = append(got, strings.Split(c, "\t")[0])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.toComplete, got, tc.want)
		}
	}
}
