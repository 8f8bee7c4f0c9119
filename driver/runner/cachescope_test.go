package runner

import (
	"testing"

	"github.com/moby/buildkit/client"
)

func TestScopeCachesGivesEachPlatformItsOwnRegistryCache(t *testing.T) {
	imports := []client.CacheOptionsEntry{
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/app:cache"}},
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/shared:cache"}},
	}
	exports := []client.CacheOptionsEntry{
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/app:cache", "mode": "max"}},
		{Type: "local", Attrs: map[string]string{"dest": "/tmp/c"}},
		{Type: "registry", Attrs: map[string]string{"ref": "reg.example/untagged"}},
	}
	im, ex := scopeCaches(imports, exports, "linux/arm/v7")
	if ex[0].Attrs["ref"] != "reg.example/app:cache-linux-arm-v7" || ex[0].Attrs["mode"] != "max" ||
		ex[1].Attrs["dest"] != "/tmp/c" || ex[2].Attrs["ref"] != "reg.example/untagged:latest-linux-arm-v7" {
		t.Errorf("exports %+v", ex)
	}
	if len(im) != 3 || im[0].Attrs["ref"] != "reg.example/app:cache-linux-arm-v7" ||
		im[1].Attrs["ref"] != "reg.example/shared:cache-linux-arm-v7" || im[2].Attrs["ref"] != "reg.example/shared:cache" {
		t.Errorf("imports %+v: a scoped cache is read as scoped; another cache, scoped first, then as given", im)
	}
	if exports[0].Attrs["ref"] != "reg.example/app:cache" {
		t.Error("the shared entries were modified")
	}
}
