package contexts

import (
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
)

func TestParsePlatformAliases(t *testing.T) {
	for in, want := range map[string]string{
		"linux/amd64":      "linux/amd64",
		"linux/x86_64":     "linux/amd64",
		"LINUX/X86_64":     "linux/amd64",
		"windows/amd64":    "windows/amd64",
		"windows/x86_64":   "windows/amd64",
		"linux/arm64":      "linux/arm64",
		"linux/aarch64":    "linux/arm64",
		"linux/armv8":      "linux/arm64",
		"linux/arm64/v8":   "linux/arm64",
		"linux/arm":        "linux/arm/v7",
		"linux/arm/v7":     "linux/arm/v7",
		"linux/arm32v7":    "linux/arm/v7",
		"linux/armv7":      "linux/arm/v7",
		"linux/armv7l":     "linux/arm/v7",
		"linux/armhf":      "linux/arm/v7",
		"linux/arm/v6":     "linux/arm/v6",
		"linux/armv6l":     "linux/arm/v6",
		" linux/arm64 ":    "linux/arm64",
		"linux/ppc64le":    "linux/ppc64le",
		"linux/riscv64":    "linux/riscv64",
		"linux/s390x":      "linux/s390x",
		"linux/386":        "linux/386",
		"linux/aarch64/":   "",
		"linux":            "",
		"arm64":            "",
		"linux/arm64/v8/":  "",
		"darwin/arm64":     "",
		"linux/mips128":    "",
		"linux//v7":        "",
		"":                 "",
		"linux/arm/..":     "",            // containerd formats it as the path "linux": the host's architecture
		"linux/arm64/v8.0": "linux/arm64", // a dotted variant, as containerd knows them
		"linux/arm/.":      "",
		"linux/./arm64":    "",
		"linux/arm 64":     "",
	} {
		p, err := ParsePlatform(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParsePlatform(%q) = %v, want an error", in, platforms.Format(p))
			} else if !strings.Contains(err.Error(), in) {
				t.Errorf("ParsePlatform(%q) error %q does not name the input", in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePlatform(%q): %v", in, err)
			continue
		}
		if got := platforms.Format(p); got != want {
			t.Errorf("ParsePlatform(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParsePlatformsSplitsAndDedups(t *testing.T) {
	got, err := ParsePlatforms([]string{"linux/arm64,linux/x86_64", "linux/aarch64", "linux/armhf"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"linux/arm64", "linux/amd64", "linux/arm/v7"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := ParsePlatforms([]string{"linux/amd64,linux/nope"}); err == nil || !strings.Contains(err.Error(), "linux/nope") {
		t.Errorf("bad entry in a list: %v", err)
	}
}

func TestEnginePlatform(t *testing.T) {
	for _, tc := range []struct{ os, arch, want string }{
		{"linux", "x86_64", "linux/amd64"},
		{"linux", "aarch64", "linux/arm64"},
		{"linux", "armv7l", "linux/arm/v7"},
		{"windows", "x86_64", "windows/amd64"},
	} {
		p, err := EnginePlatform(tc.os, tc.arch)
		if err != nil || platforms.Format(p) != tc.want {
			t.Errorf("EnginePlatform(%s, %s) = %v, %v; want %s", tc.os, tc.arch, platforms.Format(p), err, tc.want)
		}
	}
	if _, err := EnginePlatform("", "x86_64"); err == nil {
		t.Error("an engine without an OS type must be an error")
	}
}
