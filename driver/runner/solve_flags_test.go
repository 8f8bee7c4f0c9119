package runner

import (
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/store"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// hostGatewayDriver is a fake driver that knows the host-gateway address (the docker driver) or
// not (nil: the others).
type hostGatewayDriver struct {
	fakeDriver
	ip net.IP
}

func (d hostGatewayDriver) HostGatewayIP(context.Context) (net.IP, error) {
	if d.ip == nil {
		return nil, os.ErrInvalid
	}
	return d.ip, nil
}

// ociLayout writes an OCI layout holding one image tagged tag, and returns its path and digest.
func ociLayout(t *testing.T, tag string) (string, digest.Digest) {
	t.Helper()
	dir := t.TempDir()
	d := digest.FromString("manifest")
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d.String() +
		`","size":8,"annotations":{"org.opencontainers.image.ref.name":"` + tag + `"}}]}`
	for name, data := range map[string]string{"index.json": index, "oci-layout": `{"imageLayoutVersion":"1.0.0"}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, d
}

// buildxFlagsOptions uses every per-solve flag of buildx build at once.
func buildxFlagsOptions(t *testing.T, dir string) (Options, digest.Digest) {
	layout, d := ociLayout(t, "v1")
	extra := t.TempDir()
	return Options{ContextPath: dir, Network: "host", Provenance: "mode=max", BuildxFlags: BuildxFlags{
		AddHosts: []string{"db:10.0.0.5", "v6=[::1]", "gw:host-gateway"}, Allow: []string{"security.insecure", "buildx.local.delete"},
		Attests: []string{"type=sbom,generator=reg.example/scanner"}, CgroupParent: "ci.slice", NoCacheFilter: []string{"deps", "test"},
		ShmSize: "64m", Ulimits: []string{"nofile=1024:2048", "nproc=512"}, Resources: []string{"memory=1g", "cpu-quota=50000"},
		BuildContexts: []string{"base=docker-image://alpine:3.20", "stage=target:build", "src=" + extra, "context=" + extra,
			"lib=https://github.com/o/r.git?ref=main", "oci=oci-layout://" + layout + ":v1"},
	}}, d
}

func TestSolveOptBuildxFlagsPerStep(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	o, layoutDigest := buildxFlagsOptions(t, dir)
	p := mustParse(t, o)
	node := builder.Node{Node: store.Node{Name: "n0"}, Driver: &bxdriver.DriverHandle{Driver: hostGatewayDriver{ip: net.ParseIP("172.17.0.1")}}}
	for _, plat := range []string{"linux/amd64", "linux/arm64"} {
		s := &StepResult{Step: plan.Step{Platform: plat, Dockerfile: filepath.Join(dir, "Dockerfile")}}
		so, err := r.solveOpt(t.Context(), p, s, node)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"platform": plat, "filename": "Dockerfile", "force-network-mode": "host",
			"add-hosts": "db=10.0.0.5,v6=::1,gw=172.17.0.1", "cgroup-parent": "ci.slice", "no-cache": "deps,test",
			"shm-size": "67108864", "ulimit": "nofile=1024:2048,nproc=512:512", "memory": "1073741824", "cpuquota": "50000",
			"attest:sbom": "type=sbom,generator=reg.example/scanner", "attest:provenance": "type=provenance,mode=max",
			"context:base": "docker-image://alpine:3.20", "context:stage": "target:build", "context:src": "local:src",
			"context:context": "local:_context", "context:lib": "https://github.com/o/r.git?ref=main",
			"frontend.caps": "moby.buildkit.frontend.contexts+forward,moby.buildkit.frontend.gitquerystring+forward",
		}
		for k, v := range want {
			if so.FrontendAttrs[k] != v {
				t.Errorf("%s: %s = %q, want %q", plat, k, so.FrontendAttrs[k], v)
			}
		}
		for _, k := range []string{"sharedkey:localdir:src", "sharedkey:localdir:context"} {
			if v := so.FrontendAttrs[k]; !strings.HasPrefix(v, filepath.Base(o.BuildContexts[2][4:])+":") {
				t.Errorf("%s: %s = %q", plat, k, v)
			}
		}
		oci := so.FrontendAttrs["context:oci"]
		id, rest, _ := strings.Cut(strings.TrimPrefix(oci, "oci-layout://"), ":")
		if rest != "v1@"+layoutDigest.String() || len(so.OCIStores) != 1 || so.OCIStores[id] == nil {
			t.Errorf("%s: context:oci %q, stores %v", plat, oci, slices.Collect(maps.Keys(so.OCIStores)))
		}
		if got := slices.Sorted(maps.Keys(so.LocalMounts)); !slices.Equal(got, []string{"_context", "context", "dockerfile", "src"}) {
			t.Errorf("%s: local mounts %v", plat, got)
		}
		if !slices.Equal(so.AllowedEntitlements, []string{"security.insecure", "network.host"}) {
			t.Errorf("%s: entitlements %v (buildx.local.delete is buildx's own)", plat, so.AllowedEntitlements)
		}
	}
}

func TestSolveOptBuildxFlagsEdges(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	step := &StepResult{Step: plan.Step{Platform: "linux/arm64", Dockerfile: filepath.Join(dir, "Dockerfile")}}
	// host-gateway is known to the docker driver only, as in buildx: another node's step says so.
	p := mustParse(t, Options{ContextPath: dir, BuildxFlags: BuildxFlags{AddHosts: []string{"gw:host-gateway"}}})
	node := builder.Node{Node: store.Node{Name: "arm0"}, Driver: &bxdriver.DriverHandle{Driver: hostGatewayDriver{}}}
	if _, err := r.solveOpt(t.Context(), p, step, node); err == nil || !strings.Contains(err.Error(), "host-gateway") || !strings.Contains(err.Error(), "arm0") {
		t.Errorf("host-gateway on a node without it: %v", err)
	}
	// No flag: none of their attributes, no capabilities asked.
	p = mustParse(t, Options{ContextPath: dir})
	so, err := r.solveOpt(t.Context(), p, step, builder.Node{Driver: driverHandle(false)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"add-hosts", "cgroup-parent", "no-cache", "shm-size", "ulimit", "memory", "frontend.caps", "attest:sbom"} {
		if v, ok := so.FrontendAttrs[k]; ok {
			t.Errorf("%s = %q without its flag", k, v)
		}
	}
	if so.AllowedEntitlements != nil && len(so.AllowedEntitlements) != 0 {
		t.Errorf("entitlements %v without --allow", so.AllowedEntitlements)
	}
	// A turned-off provenance given through --attest: no default one either (as buildx).
	p = mustParse(t, Options{ContextPath: dir, Push: true, Tags: []string{"reg.example/app:v1"}, BuildxFlags: BuildxFlags{Attests: []string{"type=provenance,disabled=true"}}})
	if so, err = r.solveOpt(t.Context(), p, step, builder.Node{Driver: driverHandle(false)}); err != nil || so.FrontendAttrs["attest:provenance"] != "" {
		t.Errorf("provenance turned off by --attest: %v, %v", so.FrontendAttrs, err)
	}
	// A git context with a query: the frontend is told it may read it.
	p = mustParse(t, Options{ContextPath: "https://github.com/o/r.git?ref=main&subdir=app"})
	if so, err = r.solveOpt(t.Context(), p, step, builder.Node{Driver: driverHandle(false)}); err != nil || so.FrontendAttrs["frontend.caps"] != "moby.buildkit.frontend.gitquerystring" {
		t.Errorf("git context with a query: %v, %v", so.FrontendAttrs, err)
	}
}
