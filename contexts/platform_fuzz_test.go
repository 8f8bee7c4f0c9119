package contexts

// Fuzz targets of the platform parser (platform.go): --platform, --file-for, node platforms and
// the farm file's platforms all go through it.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
)

var platformSeeds = []string{
	"linux/amd64", "linux/x86_64", "LINUX/X86_64", "windows/amd64", "linux/arm64", "linux/aarch64", "linux/armv8",
	"linux/arm64/v8", "linux/arm", "linux/arm/v7", "linux/arm32v7", "linux/armv7l", "linux/armhf", "linux/arm/v6",
	"linux/armv6l", " linux/arm64 ", "linux/ppc64le", "linux/riscv64", "linux/s390x", "linux/386", "linux/aarch64/",
	"linux", "arm64", "linux/arm64/v8/", "darwin/arm64", "linux/mips128", "linux//v7", "", "linux/amd64/v3",
	"linux/x86_64/v3", "linux/arm/v5", "linux/arm64/v9", "linux/aarch64/v9", "linux/armel", "linux/i386", "linux/arm/V7",
}

func FuzzParsePlatform(f *testing.F) {
	for _, s := range platformSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<10 {
			t.Skip()
		}
		p, err := ParsePlatform(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Errorf("ParsePlatform(%q): error %q does not name the input", s, err)
			}
			return
		}
		canon := platforms.Format(p)
		// Canonical: lower case, a node OS and a known architecture, normalized as containerd
		// normalizes, and parsed back to itself.
		if canon != strings.ToLower(canon) || !slices.Contains(nodeOSes, p.OS) || !slices.Contains(knownArchs, p.Architecture) {
			t.Fatalf("ParsePlatform(%q) = %s", s, canon)
		}
		if n := platforms.Normalize(p); platforms.Format(n) != canon {
			t.Fatalf("ParsePlatform(%q) = %s, not normalized (%s)", s, canon, platforms.Format(n))
		}
		if q, err := ParsePlatform(canon); err != nil || platforms.Format(q) != canon {
			t.Fatalf("ParsePlatform(%q) = %s, which parses back as %s, %v", s, canon, platforms.Format(q), err)
		}
		// Where containerd knows the architecture (no alias of this package's own table), both
		// read the platform the same.
		parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
		if _, alias := archAliases[parts[1]]; !alias {
			c, err := platforms.Parse(strings.ToLower(strings.TrimSpace(s)))
			if err != nil || platforms.Format(platforms.Normalize(c)) != canon {
				t.Fatalf("ParsePlatform(%q) = %s; containerd reads %s, %v", s, canon, platforms.Format(platforms.Normalize(c)), err)
			}
		}
	})
}

func FuzzParsePlatforms(f *testing.F) {
	for _, s := range platformSeeds {
		f.Add(s, "linux/amd64")
	}
	f.Add("linux/arm64,linux/x86_64", "linux/aarch64")
	f.Add("linux/amd64,linux/nope", "")
	f.Add("linux/arm64,,linux/amd64", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a)+len(b) > 1<<10 {
			t.Skip()
		}
		got, err := ParsePlatforms([]string{a, b})
		if err != nil {
			return
		}
		// Every entry once, in the order first given, each canonical.
		if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
			t.Fatalf("ParsePlatforms(%q, %q) = %v: duplicates", a, b, got)
		}
		var want []string
		for _, v := range []string{a, b} {
			for s := range strings.SplitSeq(v, ",") {
				p, err := ParsePlatform(s)
				if err != nil {
					t.Fatalf("ParsePlatforms(%q, %q) accepted %q: %v", a, b, s, err)
				}
				if canon := platforms.Format(p); !slices.Contains(want, canon) {
					want = append(want, canon)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ParsePlatforms(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}
