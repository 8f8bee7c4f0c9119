package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// BuildxFlags are the flags of `docker buildx build` v0.38 beyond the ones Options names, with
// buildx's meaning (`docker buildx build --help`); they are parsed as buildx parses them.
type BuildxFlags struct {
	AddHosts      []string // --add-host HOST:IP|HOST=IP (IP may be host-gateway: docker driver nodes only)
	Allow         []string // --allow network.host|security.insecure|device[=...]|buildx.local.delete
	Annotations   []string // --annotation [LEVEL[PLATFORM],...:]KEY=VALUE
	Attests       []string // --attest type=TYPE,... (merged with --provenance and --sbom as buildx does)
	BuildContexts []string // --build-context NAME=DIR|URL|docker-image://REF|target:STAGE|oci-layout://PATH[:TAG][@DIGEST]
	Call          string   // --call METHOD[,format=F][,ignorestatus=B] (--check: "check"; "build" or "": a build)
	CgroupParent  string   // --cgroup-parent: the RUN steps' parent cgroup
	IIDFile       string   // --iidfile: where the image ID goes
	NoCacheFilter []string // --no-cache-filter STAGE: stages built without cache
	Outputs       []string // -o/--output type=TYPE,...|PATH|-
	Policy        []string // --policy filename=...: refused (no policy engine); disabled=true and the like are no-ops
	Quiet         bool     // -q/--quiet: quiet progress, the image ID printed
	Resources     []string // --resource KEY=VALUE, and the hidden --memory, --cpu-shares, ... as KEY=VALUE
	ShmSize       string   // --shm-size: /dev/shm of the RUN steps, as docker reads sizes ("64m")
	Ulimits       []string // --ulimit NAME=SOFT[:HARD]
	// Deprecated are the hidden legacy flags given; those buildx warns about (isolation,
	// security-opt, squash) get its warning in Result.Warnings, the others are ignored.
	Deprecated []string
}

// buildxParsed are BuildxFlags parsed. Some are sent with every step's solve (solveAttrs, allow, hosts,
// contexts); the others are checked here and used by the export, output and metadata steps.
type buildxParsed struct {
	solveAttrs map[string]string   // frontend attrs of every step: cgroup-parent, no-cache (filter), shm-size, ulimit, resources
	allow      []string            // AllowedEntitlements of every step (buildx.local.delete left out)
	hosts      []spec.Host         // --add-host; host-gateway resolved per node
	contexts   []spec.NamedContext // --build-context, by name
	attestSet  map[string]bool     // attestation types given (turned off ones included): no default provenance then
	warnings   []string            // for Result.Warnings: deprecated flags, ignored caches

	// For the export and output steps:
	// outputs are the -o values as buildx reads them ("registry" already image,push=true); the
	// local ones write one folder per platform (DIR/<os>_<arch>[_<variant>]) as buildx does.
	outputs []spec.Output
	// annotations are the --annotation values by level (Type: manifest, index,
	// manifest-descriptor, index-descriptor, "" meaning manifest) and platform; AnnotationsAt
	// gives one level's KEY -> VALUE for one platform. buildx sets each on every exporter as
	// attrs k.String() = value.
	annotations map[exptypes.AnnotationKey]string
	// iidFile is --iidfile: the published index digest goes there (its directory exists).
	iidFile string
	// quiet is -q/--quiet or --progress quiet: the display is quiet and the image ID (index digest)
	// is printed at the end. --progress none is quiet too, without the ID.
	quiet bool
	// call is --call/--check: nil for a build, else the frontend method to run on every platform
	// (Name "lint" for check, as buildx renames it) instead of building.
	call *spec.Call
	// allowLocalDelete is --allow buildx.local.delete (checked against -o type=local,mode=delete).
	allowLocalDelete bool
}

func (p *parsed) parseArgs() error {
	var err error
	if p.buildArgs, err = spec.KeyValues("--build-arg", p.BuildArgs, true); err != nil {
		return err
	}
	if err := spec.AddKeyValues("--build-arg", p.buildArgs, p.Entries.BuildArgs); err != nil {
		return err
	}
	if _, ok := p.buildArgs["SOURCE_DATE_EPOCH"]; !ok && os.Getenv("SOURCE_DATE_EPOCH") != "" {
		p.buildArgs["SOURCE_DATE_EPOCH"] = os.Getenv("SOURCE_DATE_EPOCH") // as buildx
	}
	if p.labels, err = spec.KeyValues("--label", p.Labels, false); err != nil {
		return err
	}
	return spec.AddKeyValues("--label", p.labels, p.Entries.Labels)
}

func (p *parsed) parseCache() error {
	var err error
	var warned []string
	if p.cacheFrom, warned, err = spec.ParseCacheEntries("--cache-from", p.CacheFrom, p.Entries.CacheFrom...); err != nil {
		return err
	}
	p.warnings = append(p.warnings, warned...)
	p.cacheTo, warned, err = spec.ParseCacheEntries("--cache-to", p.CacheTo, p.Entries.CacheTo...)
	p.warnings = append(p.warnings, warned...)
	return err
}

// parseSessions checks --secret and --ssh as buildx does before building: every secret's source
// exists, every agent socket or key can be used. A git context over ssh forwards the default
// agent when no --ssh is given, as buildx does.
func (p *parsed) parseSessions() error {
	for _, s := range p.Secrets {
		if s == "" {
			continue
		}
		src, err := spec.ParseSecret(s)
		if err != nil {
			return err
		}
		p.secrets = append(p.secrets, src)
	}
	for _, e := range p.Entries.Secrets {
		src, err := spec.Secret(e)
		if err != nil {
			return err
		}
		p.secrets = append(p.secrets, src)
	}
	var agents []sshprovider.AgentConfig
	for _, s := range p.SSH {
		if s != "" {
			agents = append(agents, spec.ParseSSH(s))
		}
	}
	for _, cfg := range append(agents, p.Entries.SSH...) {
		if _, err := sshprovider.NewSSHAgentProvider([]sshprovider.AgentConfig{cfg}); err != nil {
			return spec.Invalid("--ssh", spec.SSHText(cfg), "%w", err)
		}
		p.ssh = append(p.ssh, cfg)
	}
	if _, err := sshprovider.NewSSHAgentProvider(p.ssh); err != nil {
		return fmt.Errorf("invalid --ssh: %w", err) // an agent ID given twice
	}
	if len(p.ssh) == 0 && isGitSSH(p.ContextPath) {
		// Checked when the solve starts, as buildx does: a plan needs no agent.
		p.ssh = []sshprovider.AgentConfig{{ID: "default"}}
	}
	return nil
}

func (p *parsed) parseAttests() error {
	var err error
	p.attests, p.attestSet, err = spec.ParseAttestations(p.Attests, p.Provenance, p.SBOM, p.Entries.Attests...)
	return err
}

var displayModes = []string{"auto", "tty", "plain", "rawjson", "quiet", "none"}

// parseProgress: --progress as buildx reads it; quiet and none are the quiet display (quiet also
// prints the image ID, as -q does), and -q goes only with auto or quiet.
func (p *parsed) parseProgress() error {
	mode := p.Progress
	if mode == "" {
		mode = "auto"
	}
	if !slices.Contains(displayModes, mode) {
		return fmt.Errorf("invalid --progress %q: want one of %s", p.Progress, strings.Join(displayModes, ", "))
	}
	p.quiet = p.Quiet || mode == "quiet"
	if p.Quiet && mode != "auto" && mode != "quiet" {
		return fmt.Errorf("--progress %s and -q/--quiet cannot be used together", mode)
	}
	if mode == "none" || p.quiet {
		mode = string(progressui.QuietMode)
	}
	p.display = progressui.DisplayMode(mode)
	return nil
}

// parseExportFlags checks the flags of what a build leaves: -o, --annotation, --iidfile, --call.
func (p *parsed) parseExportFlags() error {
	var err error
	if p.IIDFile != "" {
		p.iidFile = p.IIDFile
		if st, err := os.Stat(filepath.Dir(p.IIDFile)); err != nil || !st.IsDir() {
			return fmt.Errorf("invalid --iidfile %q: directory %s does not exist", p.IIDFile, filepath.Dir(p.IIDFile))
		}
	}
	if p.outputs, err = spec.ParseOutputs(p.Outputs, p.IIDFile, p.allowLocalDelete, p.Entries.Outputs...); err != nil {
		return err
	}
	if p.annotations, err = spec.ParseAnnotations(p.Annotations); err != nil {
		return err
	}
	if idx := spec.AnnotationsAt(p.annotations, "index", ""); len(idx) > 0 {
		p.indexAnnotations = idx
	}
	p.call, err = spec.ParseCall(p.Call)
	return err
}
