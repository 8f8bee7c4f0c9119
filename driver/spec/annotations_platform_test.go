package spec

import "testing"

// An annotation's platform is kept as buildx keeps it ("Arm" is linux/arm), and applies to the
// step whose platform it names once both are normalized (linux/arm/v7).
func TestAnnotationPlatformMatchesNormalized(t *testing.T) {
	all, err := ParseAnnotations([]string{"manifest[Arm]:org.example.k=v"})
	if err != nil {
		t.Fatal(err)
	}
	if got := AnnotationsAt(all, "manifest", "linux/arm/v7"); got["org.example.k"] != "v" {
		t.Errorf("for linux/arm/v7: %v", got)
	}
	if got := AnnotationsAt(all, "manifest", "linux/arm64"); len(got) != 0 {
		t.Errorf("for linux/arm64: %v", got)
	}
}
