//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// e2eVersion is linked into the plugin under test, so tests can tell it is the binary they built.
const e2eVersion = "v0.0.0-e2e"

// farm holds the coordinates that e2e/farm/farm.sh writes once everything is up.
type farmEnv struct {
	EngineA, EngineAVersion string
	EngineB, EngineBVersion string
	Registry                string
	BuildKitImage           string
	Busybox                 string
	Bin                     string
	SSH, SSHKey, SSHHostKey string
	EngineBTLS, TLSDir      string
	AuthRegistry, AuthUser  string
	AuthPasswordFile        string
	BuildKitdConfig         string // a buildkitd.toml mirroring docker.io to the farm registry (SBOM scanner)
	// Two standalone buildkitd on tcp://127.0.0.1 with mutual TLS, and their TLS files (ca.pem,
	// cert.pem, key.pem; their own CA, not the engines').
	BuildKitA, BuildKitB, BuildKitTLS string
}

var (
	farm       farmEnv
	pluginPath string // the plugin binary built once for the whole run
	// linked are the module versions the plugin binary was built with (`go version -m`), so tests
	// compare against the build, not against versions written into the tests.
	linked map[string]string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if farm, err = loadFarm(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the farm is not up (run `make farm` or e2e/farm/farm.sh up):", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "multiarch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if pluginPath, err = buildPlugin(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the plugin:", err)
		return 1
	}
	if linked, err = linkedModules(pluginPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: reading the plugin's modules:", err)
		return 1
	}
	fmt.Printf("e2e: farm engines %s (%s), %s (%s); registry %s\n",
		farm.EngineA, farm.EngineAVersion, farm.EngineB, farm.EngineBVersion, farm.Registry)
	return m.Run()
}

func loadFarm() (farmEnv, error) {
	path := os.Getenv("MULTIARCH_FARM_ENV")
	if path == "" {
		path = "/run/multiarch-farm/env"
	}
	f, err := os.Open(path)
	if err != nil {
		return farmEnv{}, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	env := farmEnv{
		EngineA: kv["FARM_ENGINE_A"], EngineAVersion: kv["FARM_ENGINE_A_VERSION"],
		EngineB: kv["FARM_ENGINE_B"], EngineBVersion: kv["FARM_ENGINE_B_VERSION"],
		Registry: kv["FARM_REGISTRY"], BuildKitImage: kv["FARM_BUILDKIT_IMAGE"],
		Busybox: kv["FARM_BUSYBOX"], Bin: kv["FARM_BIN"],
		SSH: kv["FARM_SSH"], SSHKey: kv["FARM_SSH_KEY"], SSHHostKey: kv["FARM_SSH_HOST_KEY"],
		EngineBTLS: kv["FARM_ENGINE_B_TLS"], TLSDir: kv["FARM_TLS_DIR"],
		AuthRegistry: kv["FARM_AUTH_REGISTRY"], AuthUser: kv["FARM_AUTH_USER"], AuthPasswordFile: kv["FARM_AUTH_PASSWORD_FILE"],
		BuildKitdConfig: kv["FARM_BUILDKITD_CONFIG"],
		BuildKitA:       kv["FARM_BUILDKIT_A"], BuildKitB: kv["FARM_BUILDKIT_B"], BuildKitTLS: kv["FARM_BUILDKIT_TLS_DIR"],
	}
	if env.EngineA == "" || env.EngineB == "" || env.Registry == "" || env.SSH == "" || env.EngineBTLS == "" || env.AuthRegistry == "" || env.BuildKitdConfig == "" {
		return env, fmt.Errorf("%s lacks engine, registry, ssh or TLS entries (bring the farm up again)", path)
	}
	return env, sc.Err()
}

// buildPlugin compiles ./cmd/docker-multiarch the way the Makefile does, with a known version.
func buildPlugin(dir string) (string, error) {
	out := filepath.Join(dir, "docker-multiarch")
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-X github.com/docker-multiarch/docker-multiarch/internal/pluginmeta.Version="+e2eVersion+" -X github.com/docker-multiarch/docker-multiarch/internal/pluginmeta.Commit=e2e0000",
		"-o", out, "../cmd/docker-multiarch")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, b)
	}
	return out, nil
}

// linkedModules reads the module versions recorded in a Go binary.
func linkedModules(bin string) (map[string]string, error) {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return nil, err
	}
	mods := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "dep" {
			mods[f[1]] = f[2]
		}
	}
	if mods["github.com/docker/buildx"] == "" || mods["github.com/moby/buildkit"] == "" {
		return nil, fmt.Errorf("%s does not record buildx and BuildKit", bin)
	}
	return mods, nil
}

// farmBuildKitVersion is the BuildKit version of the farm's BuildKit image (its tag).
func farmBuildKitVersion() string {
	_, v, _ := strings.Cut(farm.BuildKitImage, ":")
	return v
}
