package runner

// Fuzz targets of the build flags options*.go parses (driver/spec's parsers are fuzzed there):
// --add-host, --ulimit, --shm-size, --resource, --allow, --policy, --file-for, the tags and
// --cache-ref, against buildx v0.38 where the differential tests compare them, and each with its
// invariants.

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/docker/cli/opts"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
)

func FuzzParseHosts(f *testing.F) {
	for _, v := range []string{
		"host:1.2.3.4", "host=1.2.3.4", "host=::1", "host=[::1]", "host:[::1]", "host=1.2.3.4,5.6.7.8", "host=1.2.3.4,[::1]",
		"gw:host-gateway", "gw=host-gateway", "host", ":1.2.3.4", "host:", "host:notanip", "a:b:c", "host=1.2.3.4,", "host=[1.2.3.4]",
		"h=1:2::3", "h=[]", "h=[", "h:fe80::1%eth0",
	} {
		f.Add(v)
	}
	nodes := []struct {
		name string
		ip   net.IP
	}{{"gateway", net.ParseIP("172.17.0.1")}, {"no gateway", nil}}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		hosts, err := spec.ParseHosts([]string{v})
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("invalid --add-host %q", v)) {
			t.Errorf("--add-host %q: error %q does not name the value", v, err)
		}
		for _, h := range hosts {
			if h.Host == "" || h.Gateway == (len(h.IPs) > 0) {
				t.Errorf("--add-host %q: %+v", v, h)
			}
			for _, ip := range h.IPs {
				if net.ParseIP(ip) == nil {
					t.Errorf("--add-host %q: %q is not an IP address", v, ip)
				}
			}
		}
		for _, n := range nodes {
			node := driverNode(gatewayDriver{ip: n.ip})
			var got string
			gerr := err
			if gerr == nil {
				got, gerr = extraHosts(t.Context(), hosts, node)
			}
			want, berr := bxExtraHosts(t.Context(), []string{v}, node.Driver)
			if (gerr != nil) != (berr != nil) || got != want {
				t.Fatalf("--add-host %q (%s): ours %q, %v; buildx's %q, %v", v, n.name, got, gerr, want, berr)
			}
		}
	})
}

func FuzzParseSolveFlags(f *testing.F) {
	for _, s := range [][4]string{
		{"nofile=1024:2048", "64m", "memory=2g", "network.host"},
		{"nofile=1024", "1g", "memory-swap=-1", "security.insecure"},
		{"nproc=-1", "0", "cpu-shares=512", "device"},
		{"core=0:0", "1024", "cpuset-cpus=0-3", "device=/dev/kvm"},
		{"nofile=2048:1024", "2.5GB", " memory = 1g ", "device=nvidia.com/gpu=all,alias=gpu"},
		{"bogus=1", "-1", "bogus=1", "buildx.local.delete"},
		{"nofile", "abc", "memory", "buildx.local.delete=true"},
		{"nofile=a", "64x", "cpu-quota=-5", "network.host=x"},
		{"", "1KiB", "memory=0", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, ulimit, shm, resource, allow string) {
		if len(ulimit)+len(shm)+len(resource)+len(allow) > flagtest.MaxValue {
			t.Skip()
		}
		if ulimit != "" {
			attrs, err := solveAttrsOf(BuildxFlags{Ulimits: []string{ulimit}})
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("invalid --ulimit %q", ulimit)) {
				t.Errorf("--ulimit %q: error %q does not name the value", ulimit, err)
			}
			u := opts.NewUlimitOpt(nil)
			berr := u.Set(ulimit)
			var want []string
			for _, l := range u.GetList() {
				want = append(want, l.String())
			}
			if (err != nil) != (berr != nil) || err == nil && attrs["ulimit"] != strings.Join(want, ",") {
				t.Fatalf("--ulimit %q: ours %q, %v; buildx's %v, %v", ulimit, attrs["ulimit"], err, want, berr)
			}
		}
		if shm != "" {
			attrs, err := solveAttrsOf(BuildxFlags{ShmSize: shm})
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("invalid --shm-size %q", shm)) {
				t.Errorf("--shm-size %q: error %q does not name the value", shm, err)
			}
			var m opts.MemBytes
			berr := m.Set(shm)
			want := ""
			if m.Value() > 0 {
				want = strconv.FormatInt(m.Value(), 10)
			}
			if (err != nil) != (berr != nil) || err == nil && attrs["shm-size"] != want {
				t.Fatalf("--shm-size %q: ours %q, %v; buildx's %q, %v", shm, attrs["shm-size"], err, want, berr)
			}
		}
		if resource != "" {
			attrs, err := solveAttrsOf(BuildxFlags{Resources: []string{resource}})
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("invalid --resource %q", resource)) {
				t.Errorf("--resource %q: error %q does not name the value", resource, err)
			}
			rl, berr := build.ParseResourceLimits([]string{resource})
			want := map[string]string{}
			bxResourceAttrs(rl, want)
			if (err != nil) != (berr != nil) || err == nil && !maps.Equal(attrs, want) {
				t.Fatalf("--resource %q: ours %v, %v; buildx's %v, %v", resource, attrs, err, want, berr)
			}
		}
		if allow != "" {
			p := &parsed{Options: Options{BuildxFlags: BuildxFlags{Allow: []string{allow}}}}
			err := p.parseSolveFlags()
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("invalid --allow %q", allow)) {
				t.Errorf("--allow %q: error %q does not name the value", allow, err)
			}
			want, del, berr := buildflags.ParseEntitlements([]string{allow})
			if (err != nil) != (berr != nil) || err == nil && (!slices.Equal(p.allow, want) || p.allowLocalDelete != del) {
				t.Fatalf("--allow %q: ours %v %v, %v; buildx's %v %v, %v", allow, p.allow, p.allowLocalDelete, err, want, del, berr)
			}
		}
	})
}

func FuzzParseFileFor(f *testing.F) {
	for _, v := range []string{"linux/arm64=Dockerfile.arm64", "linux/arm/v7=df", "LINUX/AARCH64=df", "linux/amd64=", "linux/amd64",
		"=df", "windows/amd64=C:\\df", "linux/arm64/v8=df", "darwin/arm64=df", "linux/x86_64=a=b", " linux/armhf =df"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		p := &parsed{Options: Options{FileFor: []string{v}}}
		err := p.parseFileFor()
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("invalid --file-for %q", v)) {
				t.Errorf("--file-for %q: error %q does not name the value", v, err)
			}
			return
		}
		plat, path, _ := strings.Cut(v, "=")
		if len(p.fileFor) != 1 {
			t.Fatalf("--file-for %q: %v", v, p.fileFor)
		}
		for k, got := range p.fileFor {
			pp, err := contexts.ParsePlatform(k)
			if err != nil || platforms.Format(pp) != k || got != path || path == "" {
				t.Errorf("--file-for %q: %s=%s (platform %s read back as %v, %v)", v, k, got, plat, pp, err)
			}
		}
	})
}

// FuzzParseTagsAndCacheRef: -t and --cache-ref, as parseTags reads them: the repositories of the
// tags (each once), every error naming the value.
func FuzzParseTagsAndCacheRef(f *testing.F) {
	for _, s := range [][2]string{
		{"app", ""}, {"reg.example:5000/team/app:1.0", "reg.example/app:cache"}, {"App", ""}, {"app@sha256:" + strings.Repeat("c", 64), ""},
		{"app:1", "bad ref"}, {"localhost/app:v1", "x"}, {":tag", ""}, {"a/b/c:d", "UPPER"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, tag, cacheRef string) {
		if len(tag)+len(cacheRef) > flagtest.MaxValue {
			t.Skip()
		}
		p := &parsed{Options: Options{Tags: []string{tag, tag}, CacheRef: cacheRef}}
		err := p.parseTags()
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tag)) && !strings.Contains(err.Error(), fmt.Sprintf("%q", cacheRef)) {
				t.Errorf("-t %q --cache-ref %q: error %q names neither", tag, cacheRef, err)
			}
			return
		}
		if len(p.repos) != 1 || !strings.Contains(p.repos[0], "/") {
			t.Errorf("-t %q: repositories %v", tag, p.repos)
		}
		if strings.Contains(tag, "@") {
			t.Errorf("-t %q: a digest accepted in a tag", tag)
		}
	})
}

func FuzzCheckPolicy(f *testing.F) {
	for _, v := range []string{"disabled=true", "reset=true", "log-level=debug", "strict=false", "disabled=maybe", "bogus=1",
		"filename=", "nokey", "log-level=loud", "reset=true,disabled=true", "filename=policy.rego", "strict=true", `"filename=a,b"`} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		err := parsePolicy(v)
		if err != nil && !strings.Contains(err.Error(), "--policy") {
			t.Errorf("--policy %q: error %q does not name the flag", v, err)
		}
		_, berr := buildflags.ParsePolicyConfig(v)
		switch {
		case err != nil && berr == nil:
			// Refused here only when it needs buildx's policy engine, which the plugin does not embed.
			if !strings.Contains(err.Error(), spec.ErrNoPolicyEngine.Error()) {
				t.Fatalf("--policy %q: ours %v, buildx accepts it", v, err)
			}
		case err == nil && berr != nil:
			t.Fatalf("--policy %q: ours accepted, buildx's %v", v, berr)
		}
	})
}
