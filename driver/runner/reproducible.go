package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// sourceDateEpochArg is the build argument BuildKit's Dockerfile frontend and exporters read.
const sourceDateEpochArg = "SOURCE_DATE_EPOCH"

// gitTimeout bounds asking git for the context's commit time.
const gitTimeout = 10 * time.Second

// parseReproducible settles --reproducible's epoch before anything runs: --source-date-epoch,
// else SOURCE_DATE_EPOCH (a build argument, or the environment, as buildx passes it), else the
// commit time of the git working tree the context folder is in.
func (p *parsed) parseReproducible() error {
	if p.SourceDateEpoch != "" {
		p.Reproducible = true
		if err := checkEpoch("--source-date-epoch", p.SourceDateEpoch); err != nil {
			return err
		}
		p.buildArgs[sourceDateEpochArg] = p.SourceDateEpoch
	}
	if !p.Reproducible {
		return nil
	}
	if v, ok := p.buildArgs[sourceDateEpochArg]; ok {
		return checkEpoch("--build-arg SOURCE_DATE_EPOCH", v)
	}
	epoch, err := gitCommitTime(p.ContextPath)
	if err != nil {
		return fmt.Errorf("--reproducible needs a time to set every timestamp to: give --source-date-epoch SECONDS, set SOURCE_DATE_EPOCH, or build a git working tree (%w)", err)
	}
	p.buildArgs[sourceDateEpochArg] = epoch
	return nil
}

func checkEpoch(flag, v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || n > 253402300799 {
		return fmt.Errorf("invalid %s %q: give seconds since 1970 (e.g. $(git log -1 --format=%%ct))", flag, v)
	}
	return nil
}

// gitCommitTime is the commit time of HEAD of the git working tree dir is in.
func gitCommitTime(dir string) (string, error) {
	if dir == "" || dir == "-" || strings.Contains(dir, "://") {
		return "", errors.New("the context is not a folder")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", errors.New("the context is not a folder")
	}
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return "", fmt.Errorf("%s is not in a git working tree with a commit", dir)
	}
	epoch := strings.TrimSpace(string(out))
	if checkEpoch("git", epoch) != nil {
		return "", fmt.Errorf("git gave %q as the commit time", epoch)
	}
	return epoch, nil
}

// reproducibleAttrs are what an image exporter needs for a reproducible image: its files'
// timestamps rewritten to SOURCE_DATE_EPOCH.
func (p *parsed) reproducibleAttrs(attrs map[string]string) map[string]string {
	if p.Reproducible {
		attrs["rewrite-timestamp"] = "true"
	}
	return attrs
}
