package runner

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/buildx/builder"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"

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

// A step of a build with steps on several nodes gets its own registry cache; a build of one
// platform (or one solve of all, without a multiarch builder) keeps the ref as given.
func TestSolveOptScopesCachesOfSeveralSteps(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	p := mustParse(t, Options{ContextPath: contextDir(t), Timeout: time.Minute,
		CacheTo: []string{"type=registry,ref=reg.example/cache"}})
	for several, want := range map[bool]string{true: "reg.example/cache:latest-linux-arm64", false: "reg.example/cache"} {
		s := &StepResult{Step: plan.Step{Platform: "linux/arm64", Dockerfile: filepath.Join(p.ContextPath, "Dockerfile")}, several: several}
		so, err := r.solveOpt(t.Context(), p, s, builder.Node{Driver: driverHandle(false)})
		if err != nil {
			t.Fatal(err)
		}
		if len(so.CacheExports) != 1 || so.CacheExports[0].Attrs["ref"] != want {
			t.Errorf("several=%v: cache exports %+v, want ref %s", several, so.CacheExports, want)
		}
	}
}
