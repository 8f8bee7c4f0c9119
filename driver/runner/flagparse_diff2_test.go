package runner

import (
	"context"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	_ "unsafe" // go:linkname: buildx's unexported converters, compared against in tests only

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/buildflags"
	"github.com/docker/cli/opts"
)

//go:linkname bxExtraHosts github.com/docker/buildx/build.toBuildkitExtraHosts
func bxExtraHosts(ctx context.Context, inp []string, nodeDriver *bxdriver.DriverHandle) (string, error)

//go:linkname bxResourceAttrs github.com/docker/buildx/build.addResourceLimits
func bxResourceAttrs(rl build.ResourceLimits, attrs map[string]string)

// gatewayDriver is a buildx driver that knows (or not) the host-gateway address, as the docker
// driver (or the others) do.
type gatewayDriver struct {
	bxdriver.Driver
	ip net.IP
}

func (d gatewayDriver) HostGatewayIP(context.Context) (net.IP, error) {
	if d.ip == nil {
		return nil, os.ErrInvalid
	}
	return d.ip, nil
}

func TestDiffAddHosts(t *testing.T) {
	for _, ip := range []net.IP{net.ParseIP("172.17.0.1"), nil} {
		node := driverNode(gatewayDriver{ip: ip})
		for _, in := range [][]string{
			{"host:1.2.3.4"}, {"host=1.2.3.4"}, {"host=::1"}, {"host=[::1]"}, {"host:[::1]"}, {"host=1.2.3.4,5.6.7.8"},
			{"host=1.2.3.4,[::1]"}, {"gw:host-gateway"}, {"gw=host-gateway"}, {"a:1.1.1.1", "b=2.2.2.2"}, {"host"},
			{":1.2.3.4"}, {"host:"}, {"host:notanip"}, {"a:b:c"}, {"host=1.2.3.4,"}, {"host=[1.2.3.4]"}, {"h=1:2::3"},
		} {
			hosts, err := spec.ParseHosts(in)
			var got string
			if err == nil {
				got, err = extraHosts(t.Context(), hosts, node)
			}
			want, berr := bxExtraHosts(t.Context(), in, node.Driver)
			if (err != nil) != (berr != nil) || got != want {
				t.Errorf("--add-host %q (gateway %v): ours %q, %v; buildx's %q, %v", in, ip, got, err, want, berr)
			}
		}
	}
}

// solveFlagCase parses one flag's values into the frontend attributes every step sends.
func solveAttrsOf(o BuildxFlags) (map[string]string, error) {
	p := &parsed{Options: Options{BuildxFlags: o}}
	err := p.parseSolveFlags()
	return p.solveAttrs, err
}

func TestDiffUlimitsShmSizeResources(t *testing.T) {
	for _, in := range [][]string{
		{"nofile=1024:2048"}, {"nofile=1024"}, {"nproc=-1"}, {"core=0:0"}, {"nofile=2048:1024"}, {"bogus=1"}, {"nofile"},
		{"nofile=a"}, {"nofile=1:2", "nofile=3:4"}, {"nproc=10", "core=-1:-1", "nofile=5"},
	} {
		attrs, err := solveAttrsOf(BuildxFlags{Ulimits: in})
		u := opts.NewUlimitOpt(nil)
		var berr error
		for _, v := range in {
			if berr = u.Set(v); berr != nil {
				break
			}
		}
		var want []string
		for _, l := range u.GetList() {
			want = append(want, l.String())
		}
		if (err != nil) != (berr != nil) || err == nil && attrs["ulimit"] != strings.Join(want, ",") {
			t.Errorf("--ulimit %q: ours %q, %v; buildx's %v, %v", in, attrs["ulimit"], err, want, berr)
		}
	}
	for _, v := range []string{"64m", "1g", "0", "1024", "2.5GB", "1KiB", "-1", "abc", "64x"} {
		attrs, err := solveAttrsOf(BuildxFlags{ShmSize: v})
		var m opts.MemBytes
		berr := m.Set(v)
		want := ""
		if m.Value() > 0 {
			want = strconv.FormatInt(m.Value(), 10)
		}
		if (err != nil) != (berr != nil) || err == nil && attrs["shm-size"] != want {
			t.Errorf("--shm-size %q: ours %q, %v; buildx's %q, %v", v, attrs["shm-size"], err, want, berr)
		}
	}
	for _, in := range resourceForms {
		attrs, err := solveAttrsOf(BuildxFlags{Resources: in})
		rl, berr := build.ParseResourceLimits(in)
		want := map[string]string{}
		bxResourceAttrs(rl, want)
		if (err != nil) != (berr != nil) || err == nil && !maps.Equal(attrs, want) {
			t.Errorf("--resource %q: ours %v, %v; buildx's %v, %v", in, attrs, err, want, berr)
		}
	}
}

var resourceForms = [][]string{
	{"memory=2g"}, {"memory-swap=-1"}, {"memory-swap=3g"}, {"cpu-shares=512"}, {"cpu-period=100000"}, {"cpu-quota=50000"},
	{"cpuset-cpus=0-3"}, {"cpuset-mems=0,1"}, {" memory = 1g "}, {"memory=0"}, {"bogus=1"}, {"memory"}, {"cpu-shares=x"},
	{"memory=abc"}, {"memory=1g", "memory=2g"}, {"memory=1g", "memory=0"}, {"cpuset-cpus=1", "cpuset-cpus="}, {"cpu-quota=-5"},
	{"memory=2g", "memory-swap=4g", "cpu-shares=2", "cpu-period=3", "cpu-quota=4", "cpuset-cpus=0", "cpuset-mems=0"},
}

func TestDiffAllowCallPolicy(t *testing.T) {
	for _, in := range [][]string{
		{"network.host"}, {"security.insecure"}, {"device"}, {"device=/dev/kvm"}, {"device=nvidia.com/gpu=all,alias=gpu"},
		{"buildx.local.delete"}, {"buildx.local.delete=true"}, {"bogus"}, {"network.host=x"}, {"device=a,bogus=1"},
		{"network.host", "security.insecure", "buildx.local.delete"}, {""},
	} {
		p := &parsed{Options: Options{BuildxFlags: BuildxFlags{Allow: in}}}
		err := p.parseSolveFlags()
		want, del, berr := buildflags.ParseEntitlements(in)
		if (err != nil) != (berr != nil) || err == nil && (!slices.Equal(p.allow, want) || p.allowLocalDelete != del) {
			t.Errorf("--allow %q: ours %v %v, %v; buildx's %v %v, %v", in, p.allow, p.allowLocalDelete, err, want, del, berr)
		}
	}
	for _, v := range []string{"build", "check", "outline", "targets", "check,format=json", "outline,format=json,ignorestatus=true",
		"lint,ignorestatus=maybe", "check,outline", "format=json", "foo=bar", "", "subrequests.describe", `"check`} {
		ours, err := spec.ParseCall(v)
		theirs, berr := buildflags.ParseCallFunc(v)
		same := (ours == nil) == (theirs == nil) && (ours == nil || ours.Name == theirs.Name && ours.Format == theirs.Format && ours.IgnoreStatus == theirs.IgnoreStatus)
		if (err != nil) != (berr != nil) || err == nil && !same {
			t.Errorf("--call %q: ours %+v, %v; buildx's %+v, %v", v, ours, err, theirs, berr)
		}
	}
	for _, v := range []string{"disabled=true", "reset=true", "log-level=debug", "strict=false", "disabled=maybe", "bogus=1",
		"filename=", "nokey", "log-level=loud", "reset=true,disabled=true", "filename=policy.rego", "strict=true"} {
		err := parsePolicy(v)
		_, berr := buildflags.ParsePolicyConfig(v)
		deviates := strings.Contains(v, "filename=p") || v == "strict=true" // needs the policy engine: refused here
		if deviates && (err == nil || berr != nil) || !deviates && (err != nil) != (berr != nil) {
			t.Errorf("--policy %q: ours %v, buildx's %v", v, err, berr)
		}
	}
}

// driverNode is a builder node whose driver is d.
func driverNode(d bxdriver.Driver) builder.Node {
	return builder.Node{Node: store.Node{Name: "n0"}, Driver: &bxdriver.DriverHandle{Driver: d}}
}
