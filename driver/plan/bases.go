package plan

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Base is an external image a platform's build pulls: from a FROM, a COPY --from or a RUN
// --mount from=, after its ARGs are expanded and stage references followed.
type Base struct {
	Ref         string `json:"ref"`
	Line        int    `json:"line"`        // the Dockerfile line that names it
	Instruction string `json:"instruction"` // FROM, COPY --from or RUN --mount
	Platform    string `json:"platform"`    // the platform it is pulled for
}

// BaseArgs are what a Dockerfile's FROM lines are expanded with.
type BaseArgs struct {
	Platform      string            // the platform being built (TARGETPLATFORM)
	BuildPlatform string            // the platform of the node that builds it (BUILDPLATFORM)
	BuildArgs     map[string]string // --build-arg
	Target        string            // --target; "" is the last stage
}

// Bases lists the external images the build of one platform pulls, with BuildKit's own
// Dockerfile parser: ARGs before FROM take their defaults, --build-arg and the automatic platform
// args; only stages the target needs are followed; scratch is skipped; a FROM --platform=... is
// pulled for the platform it names (so $BUILDPLATFORM stages are checked for the build platform).
func Bases(dockerfile []byte, a BaseArgs) ([]Base, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, err
	}
	env, err := metaEnv(metaArgs, a)
	if err != nil {
		return nil, err
	}
	target, err := targetStage(stages, a.Target)
	if err != nil {
		return nil, err
	}
	w := &walker{stages: stages, env: env, args: a, lex: shell.NewLex(res.EscapeToken), seen: map[int]bool{}}
	if err := w.stage(target); err != nil {
		return nil, err
	}
	return w.bases, nil
}

// metaEnv is the environment FROM lines expand in: the automatic platform args, then the ARGs
// declared before the first FROM (a --build-arg overrides a default).
func metaEnv(metaArgs []instructions.ArgCommand, a BaseArgs) (map[string]string, error) {
	env := platformArgs("TARGET", a.Platform)
	maps.Copy(env, platformArgs("BUILD", a.BuildPlatform))
	lex := shell.NewLex('\\')
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := a.BuildArgs[kv.Key]; ok {
				env[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, envGetter(env))
			if err != nil {
				return nil, fmt.Errorf("ARG %s: %w", kv.Key, err)
			}
			env[kv.Key] = v
		}
	}
	return env, nil
}

// platformArgs are BuildKit's automatic args for a platform: PREFIXPLATFORM, PREFIXOS, ...
func platformArgs(prefix, platform string) map[string]string {
	p, err := platforms.Parse(platform)
	if err != nil {
		return map[string]string{}
	}
	p = platforms.Normalize(p)
	return map[string]string{prefix + "PLATFORM": platforms.Format(p), prefix + "OS": p.OS,
		prefix + "ARCH": p.Architecture, prefix + "VARIANT": p.Variant}
}

func targetStage(stages []instructions.Stage, target string) (int, error) {
	if len(stages) == 0 {
		return 0, fmt.Errorf("the Dockerfile has no FROM")
	}
	if target == "" {
		return len(stages) - 1, nil
	}
	for i, s := range stages {
		if strings.EqualFold(s.Name, target) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("--target %s: no such stage in the Dockerfile", target)
}

// walker follows the stages a target needs and collects the external images they pull.
type walker struct {
	stages []instructions.Stage
	env    map[string]string
	args   BaseArgs
	lex    *shell.Lex
	seen   map[int]bool
	bases  []Base
}

func (w *walker) stage(i int) error {
	if w.seen[i] {
		return nil
	}
	w.seen[i] = true
	s := w.stages[i]
	line := 0
	if len(s.Location) > 0 {
		line = s.Location[0].Start.Line
	}
	platform := w.args.Platform
	if s.Platform != "" {
		p, err := w.expand(s.Platform, line)
		if err != nil {
			return err
		}
		if platform, err = normalize(p, line); err != nil {
			return err
		}
	}
	if err := w.ref("FROM", s.BaseName, line, platform, i); err != nil {
		return err
	}
	return w.commands(s, platform, i)
}

// commands follows COPY --from and RUN --mount from= of a stage.
func (w *walker) commands(s instructions.Stage, platform string, i int) error {
	for _, c := range s.Commands {
		line := 0
		if loc := c.Location(); len(loc) > 0 {
			line = loc[0].Start.Line
		}
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				if err := w.ref("COPY --from", c.From, line, platform, i); err != nil {
					return err
				}
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					if err := w.ref("RUN --mount", m.From, line, platform, i); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// ref follows a name: an earlier stage (by name or index), scratch, or an external image.
func (w *walker) ref(instruction, name string, line int, platform string, before int) error {
	name, err := w.expand(name, line)
	if err != nil {
		return err
	}
	if strings.EqualFold(name, "scratch") {
		return nil
	}
	if j, ok := w.stageIndex(name, before); ok {
		return w.stage(j)
	}
	b := Base{Ref: name, Line: line, Instruction: instruction, Platform: platform}
	if !slices.Contains(w.bases, b) {
		w.bases = append(w.bases, b)
	}
	return nil
}

func (w *walker) stageIndex(name string, before int) (int, bool) {
	for j := range before {
		if w.stages[j].Name != "" && strings.EqualFold(w.stages[j].Name, name) {
			return j, true
		}
	}
	if j, err := strconv.Atoi(name); err == nil && j >= 0 && j < before {
		return j, true
	}
	return 0, false
}

func (w *walker) expand(word string, line int) (string, error) {
	v, _, err := w.lex.ProcessWord(word, envGetter(w.env))
	if err != nil {
		return "", fmt.Errorf("Dockerfile:%d: %q: %w", line, word, err)
	}
	return v, nil
}

func normalize(p string, line int) (string, error) {
	parsed, err := platforms.Parse(p)
	if err != nil {
		return "", fmt.Errorf("Dockerfile:%d: --platform=%s: %w", line, p, err)
	}
	return platforms.Format(platforms.Normalize(parsed)), nil
}

// envGetter lets the shell lexer read a map.
type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

func (e envGetter) Keys() []string { return slices.Sorted(maps.Keys(e)) }
