package main

import (
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// heavyInits are packages whose initialisation the early metadata answer must come before.
var heavyInits = []string{"github.com/docker/cli/cli/command", "github.com/moby/buildkit/client", "github.com/docker/buildx/builder",
	"google.golang.org/grpc", "github.com/distribution/reference", "github.com/Masterminds/semver/v3", "crypto/x509"}

// On Windows and macOS too, where the test binary cannot run, the linker puts package early's
// init before the heavy packages': the plugin built for each is read back, its init order taken
// from the linker's own list (go:main.inittasks), as the runtime runs it.
func TestEarlyInitialisesFirstOnWindowsAndMacOS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin for two other systems")
	}
	for _, target := range [][2]string{{"windows", "amd64"}, {"darwin", "arm64"}} {
		t.Run(target[0], func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "docker-multiarch")
			cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
			cmd.Env = append(os.Environ(), "GOOS="+target[0], "GOARCH="+target[1], "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			order := initOrder(t, bin, target[0])
			i := slices.IndexFunc(order, func(p string) bool { return strings.HasSuffix(p, "/cmd/docker-multiarch/early") })
			if i < 0 {
				t.Fatalf("package early is not among the %d inits", len(order))
			}
			for _, heavy := range heavyInits {
				if slices.Contains(order[:i], heavy) {
					t.Errorf("%s initialises before early (%d packages do: %v)", heavy, i, order[:i])
				}
			}
			if !slices.Contains(order[i:], "github.com/docker/cli/cli/command") {
				t.Errorf("the order read back lacks the Docker CLI after early: %v", order)
			}
		})
	}
}

// initOrder is the packages' init order a binary holds: the linker's go:main.inittasks, an array
// of pointers to each package's PKG..inittask symbol.
func initOrder(t *testing.T, path, goos string) []string {
	t.Helper()
	type sym struct {
		name string
		addr uint64
	}
	var syms []sym
	var read func(addr, n uint64) []byte
	switch goos {
	case "windows":
		f, err := pe.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		base := f.OptionalHeader.(*pe.OptionalHeader64).ImageBase
		for _, s := range f.Symbols {
			if n := int(s.SectionNumber); n >= 1 && n <= len(f.Sections) {
				syms = append(syms, sym{s.Name, base + uint64(f.Sections[n-1].VirtualAddress) + uint64(s.Value)})
			}
		}
		read = func(addr, n uint64) []byte {
			for _, sec := range f.Sections {
				if start := base + uint64(sec.VirtualAddress); addr >= start && addr+n <= start+uint64(sec.Size) {
					b := make([]byte, n)
					_, _ = sec.ReadAt(b, int64(addr-start))
					return b
				}
			}
			return nil
		}
	default:
		f, err := macho.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, s := range f.Symtab.Syms {
			syms = append(syms, sym{strings.TrimPrefix(s.Name, "_"), s.Value})
		}
		read = func(addr, n uint64) []byte {
			for _, sec := range f.Sections {
				if addr >= sec.Addr && addr+n <= sec.Addr+sec.Size {
					b := make([]byte, n)
					_, _ = sec.ReadAt(b, int64(addr-sec.Addr))
					return b
				}
			}
			return nil
		}
	}
	tasks := map[uint64]string{}
	var list sym
	for _, s := range syms {
		if pkg, ok := strings.CutSuffix(s.name, "..inittask"); ok {
			tasks[s.addr] = pkg
		}
		if s.name == "go:main.inittasks" {
			list = s
		}
	}
	if list.addr == 0 {
		t.Fatal("no go:main.inittasks symbol")
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	next := syms[sort.Search(len(syms), func(i int) bool { return syms[i].addr > list.addr })].addr
	var order []string
	b := read(list.addr, next-list.addr)
	for i := 0; i+8 <= len(b); i += 8 {
		if pkg, ok := tasks[binary.LittleEndian.Uint64(b[i:])]; ok {
			order = append(order, pkg)
		}
	}
	return order
}
