package contexts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// archAliases maps the CPU names engines and users write to an OCI architecture and variant
// (the spec's alias table: x86_64, aarch64/armv8, arm32v7/armv7/armv7l/armhf).
var archAliases = map[string][2]string{
	"x86_64":  {"amd64", ""},
	"x86-64":  {"amd64", ""},
	"aarch64": {"arm64", ""},
	"armv8":   {"arm64", ""},
	"armv8l":  {"arm", "v7"}, // a 32-bit userland on an arm64 CPU runs arm/v7 code
	"arm32v7": {"arm", "v7"},
	"armv7":   {"arm", "v7"},
	"armv7l":  {"arm", "v7"},
	"armhf":   {"arm", "v7"},
	"arm32v6": {"arm", "v6"},
	"armv6":   {"arm", "v6"},
	"armv6l":  {"arm", "v6"},
	"armel":   {"arm", "v6"},
}

// nodeOSes are the operating systems a builder node can be native to.
var nodeOSes = []string{"linux", "windows"}

// knownArchs are the architectures BuildKit and the registries know images for.
var knownArchs = []string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

// ParsePlatform normalizes a user's platform string, OS/ARCH[/VARIANT] with any alias of the spec,
// to its canonical OCI form (linux/arm/v7, linux/arm64, windows/amd64).
func ParsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	if len(parts) < 2 || len(parts) > 3 || slices.ContainsFunc(parts, notSpecifier) {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: want OS/ARCH[/VARIANT] of letters, digits, dots, dashes and underscores, for example linux/arm64", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if !slices.Contains(nodeOSes, p.OS) {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: unknown OS %q (want one of %s)", s, p.OS, strings.Join(nodeOSes, ", "))
	}
	p = normalizeArch(p)
	if !slices.Contains(knownArchs, p.Architecture) {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: unknown architecture %q", s, p.Architecture)
	}
	parsed, err := platforms.Parse(platforms.Format(p))
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: %w", s, err)
	}
	return platforms.Normalize(parsed), nil
}

// ParsePlatforms parses a list of platforms (each entry may itself be comma-separated, as buildx
// accepts), drops duplicates and keeps the order given.
func ParsePlatforms(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			p, err := ParsePlatform(s)
			if err != nil {
				return nil, err
			}
			if f := platforms.Format(p); !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// EnginePlatform turns what `docker info` reports (OSType, Architecture uname-style) into the
// engine's native platform.
func EnginePlatform(osType, arch string) (ocispec.Platform, error) {
	if osType == "" || arch == "" {
		return ocispec.Platform{}, fmt.Errorf("engine reports no OS type or architecture (os %q, arch %q)", osType, arch)
	}
	return ParsePlatform(osType + "/" + arch)
}

// notSpecifier: a platform part that is empty, "." or "..", or holds anything but letters,
// digits, ".", "-" and "_" (containerd's specifiers; a variant may be v8.0). containerd's parser
// takes "." and "..", then formats them away as a path ("linux/arm/.." is "linux", then the
// host's architecture): never taken here.
func notSpecifier(part string) bool {
	return part == "" || part == "." || part == ".." || strings.ContainsFunc(part, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.'
	})
}

func normalizeArch(p ocispec.Platform) ocispec.Platform {
	if a, ok := archAliases[p.Architecture]; ok {
		p.Architecture = a[0]
		if p.Variant == "" || a[0] == "amd64" || a[0] == "arm64" {
			p.Variant = a[1]
		}
	}
	return p
}
