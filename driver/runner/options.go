package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
	"github.com/google/shlex"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// Options are the flags of `docker multiarch build`, as the user gave them.
type Options struct {
	Stdout       io.Writer // where an output to "-" (-o type=tar,dest=-) writes: the plugin's standard output
	ContextPath  string
	Builder      string
	Tags         []string
	Platforms    []string
	File         string
	FileFor      []string // PLATFORM=PATH
	BuildArgs    []string
	Labels       []string
	Target       string
	Push         bool
	PushByDigest bool // push every platform by digest to the tags' repositories; no tag moves (merge --from-metadata publishes)
	DeferPublish bool // with --push: everything up to the publish, which is left in Result.Deferred for the caller (bake)
	ShareLocals  bool // bake: other builds of the command send the same local folders; solves on one node sending them share one session, which the caller ends (Runner.CloseLocalShares)
	Load         bool
	CacheFrom    []string
	CacheTo      []string
	CacheRef     string
	Progress     string
	MetadataFile string
	Provenance   string
	SBOM         string
	NoCache      bool
	Pull         bool
	Secrets      []string
	SSH          []string
	Network      string // RUN steps' network: default, host or none
	Strategy     string // buildkit (default) or engine: the node's own engine builds (classic API)
	DryRun       bool
	Timeout      time.Duration
	// Signer signs the published index and every manifest it names, before any tag moves
	// (--sign-key, loaded at the edge: driver.LoadSignKey); nil: nothing is signed.
	Signer registry.Signer
	// Warn says a warning the user must read before the build goes on (credentials that will
	// expire before it ends), as soon as it is known: the command prints it at once. nil: the
	// warning goes into Result.Warnings, printed when the build ends.
	Warn func(string)
	// Reproducible: SOURCE_DATE_EPOCH set on every platform (SourceDateEpoch, else the build
	// argument or the environment, else the commit time of the context's git working tree) and the
	// exporters' timestamps rewritten to it, so that the same build on another node gives the same
	// image.
	Reproducible    bool
	SourceDateEpoch string // --source-date-epoch (implies Reproducible)
	// VerifyReproducible: every platform built a second time, on another node where one builds it,
	// without cache, and the two images compared before any tag moves (VerifyFail, VerifyWarn;
	// VerifyOff). Implies Reproducible. DiffLimit caps the differences listed per platform (0: all).
	VerifyReproducible string
	DiffLimit          int
	// RemoteFile is the Dockerfile's path inside a remote (git) context, sent as the frontend's
	// filename and never read locally (rebuild: as the provenance recorded it).
	RemoteFile string
	// Warm is, by platform, the node that built this same build last (the history): routing
	// prefers it, for its cache, while it is no busier than the least loaded node.
	Warm map[string]string
	// CacheKey is the build's portable key (its context's git URL or folder name, Dockerfiles
	// and target, hashed): every solve's reference carries it, so routing finds, in a node's
	// BuildKit history, the builds of the same build by any machine (nodes.LastBuilt).
	CacheKey string
	// RunID is the build's record in the history: every platform's BuildKit record (its solve's
	// reference) starts with it, so the parts of one build are found together on every node and
	// in Docker Desktop's Builds view. "": none.
	RunID string
	// Expected is how long this build is expected to take (the last one of the same
	// repositories, from the history); 0: unknown, --timeout is used.
	Expected time.Duration
	// The test gate: every variant runs on a node native to it (else one that emulates it) after
	// it is pushed by digest and before any tag moves.
	Test         string // the command, split like a shell would ("" and no TestImageCmd: no gate)
	TestImageCmd bool   // run the image's own entrypoint and command as the test
	TestCriteria tester.Criteria
	BuildxFlags
	// Entries are values given typed rather than as flag text (bake: from buildx's resolved
	// definition); each list is checked as its flag's text is, after it.
	Entries spec.Entries
}

// parsed is a build's options checked and converted, before anything runs.
type parsed struct {
	Options
	repos        []string // repositories of the tags, for the per-platform pushes by digest
	platforms    []string // normalized; empty: the builder's
	fileFor      map[string]string
	buildArgs    map[string]string
	labels       map[string]string
	cacheFrom    []client.CacheOptionsEntry
	cacheTo      []client.CacheOptionsEntry
	secrets      []secretsprovider.Source
	ssh          []sshprovider.AgentConfig
	attests      map[string]string // frontend attrs attest:<type>
	buildxParsed                   // the other flags of buildx build, parsed (options_flags.go)
	display      progressui.DisplayMode
	stdin        *stdinInput      // what was read from standard input
	test         *tester.Criteria // the test gate, nil when there is none
	pushes       bool             // every platform is pushed by digest (--push or --push-by-digest)
	// indexAnnotations go on the published index (--annotation index:KEY=VALUE).
	indexAnnotations map[string]string
}

// parseOptions checks every option; an error names the bad value and nothing has run.
// Check checks build options as Build does before anything runs (bake checks every target's
// before it builds any).
func Check(o Options) error {
	_, err := parseOptions(o, nil)
	return err
}

// parseOptions checks every option, with what was read from stdin (nil: nothing), into the parsed
// build that nothing changes afterwards: what planning and running find goes into the Result and
// the pipeline's runState.
func parseOptions(o Options, stdin *stdinInput) (*parsed, error) {
	if stdin == nil {
		stdin = &stdinInput{}
	}
	p := &parsed{Options: o, stdin: stdin}
	steps := []func() error{
		p.parseContext, p.parseTags, p.parsePlatforms, p.parseFileFor, p.parseArgs,
		p.parseCache, p.parseSessions, p.parseAttests, p.parseProgress, p.parseOutputs,
		p.parseSolveFlags, p.parseExportFlags, p.applyOutputs, p.parseLegacyFlags,
		p.parseVerify, p.parseReproducible, p.parseTest, p.parseSign, // after applyOutputs: -o type=image,push=true (or type=registry) is a push too
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	p.pushes = p.Push || p.PushByDigest
	return p, nil
}

func (p *parsed) parseTags() error {
	tags, err := registry.UniqueTags(p.Tags) // -t app:$TAG -t app:latest with TAG=latest is one tag
	if err != nil {
		return err
	}
	p.Tags = tags
	for _, t := range p.Tags {
		named, _ := registry.ParseTag(t)
		repo := named.Name()
		if !slices.Contains(p.repos, repo) {
			p.repos = append(p.repos, repo)
		}
	}
	if p.Push && p.PushByDigest {
		return errors.New("--push moves the tags and --push-by-digest never does: give one of them")
	}
	if p.PushByDigest && len(p.Tags) == 0 {
		return errors.New("--push-by-digest needs the repository to push to (-t NAME)")
	}
	if p.Push && len(p.Tags) == 0 {
		return errors.New("--push needs at least one tag (-t NAME:TAG)")
	}
	if p.CacheRef != "" {
		if _, err := reference.ParseNormalizedNamed(p.CacheRef); err != nil {
			return fmt.Errorf("invalid --cache-ref %q: %w", p.CacheRef, err)
		}
	}
	return nil
}

func (p *parsed) parsePlatforms() error {
	var err error
	p.platforms, err = contexts.ParsePlatforms(p.Platforms)
	return err
}

func (p *parsed) parseFileFor() error {
	p.fileFor = map[string]string{}
	for _, f := range p.FileFor {
		plat, path, ok := strings.Cut(f, "=")
		if !ok || path == "" {
			return spec.Invalid("--file-for", f, "want PLATFORM=PATH, for example linux/arm64=Dockerfile.arm64")
		}
		pp, err := contexts.ParsePlatform(plat)
		if err != nil {
			return spec.Invalid("--file-for", f, "%w", err)
		}
		p.fileFor[platforms.Format(pp)] = path
	}
	return nil
}

func (p *parsed) parseOutputs() error {
	if p.MetadataFile != "" {
		dir := filepath.Dir(p.MetadataFile)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("invalid --metadata-file %q: directory %s does not exist", p.MetadataFile, dir)
		}
	}
	if err := deadline.CheckTimeout(p.Timeout); err != nil {
		return err
	}
	switch p.Network {
	case "", "default", "host", "none":
	default:
		return spec.Invalid("--network", p.Network, "want default, host or none")
	}
	switch p.Strategy {
	case "", plan.StrategyBuildKit:
		p.Strategy = plan.StrategyBuildKit
	case plan.StrategyEngine:
		if p.Load {
			return errors.New("--load applies to BuildKit builds: the engine strategy already leaves nothing behind on the nodes")
		}
	default:
		return fmt.Errorf("invalid --strategy %q: want %s or %s", p.Strategy, plan.StrategyBuildKit, plan.StrategyEngine)
	}
	return nil
}

// cacheSuffix is the tag suffix --cache-ref keeps a platform's cache under.
func cacheSuffix(platform string) string {
	return "cache-" + strings.ReplaceAll(platform, "/", "-")
}

// parseTest checks the test gate's flags: a command (split as a shell would) or the image's own.
// parseSign: --sign-key signs what a push publishes.
func (p *parsed) parseSign() error {
	if p.Signer != nil && !p.Push {
		return errors.New("--sign-key signs what --push publishes: give --push (a split build's platforms are signed by merge --from-metadata --sign-key)")
	}
	return nil
}

func (p *parsed) parseTest() error {
	if p.Test == "" && !p.TestImageCmd {
		return nil
	}
	if p.Test != "" && p.TestImageCmd {
		return fmt.Errorf("give --test %q or --test-image-cmd, not both", p.Test)
	}
	if !p.Push && !p.PushByDigest {
		return errors.New("--test runs every variant from the registry, by digest, before the tags move: it needs --push (or --push-by-digest)")
	}
	c := p.TestCriteria
	if p.Test != "" {
		cmd, err := shlex.Split(p.Test)
		if err != nil || len(cmd) == 0 {
			return fmt.Errorf("invalid --test %q: want a command, as a shell would split it", p.Test)
		}
		c.Cmd = cmd
	}
	if c.Network == "" {
		c.Network = p.Network
	}
	if err := c.Check(); err != nil {
		return err
	}
	p.test = &c
	return nil
}
