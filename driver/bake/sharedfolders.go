package bake

import (
	"path/filepath"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// markSharedFolders lets the targets that send the same local folders (their context, and the
// folder of their Dockerfile) share, on each node, one session for them (runner.Options.
// ShareLocals), as buildx bake does: BuildKit then transfers each folder once per node. A target
// whose folders no other target sends keeps a session of its own per solve, as with buildx.
func markSharedFolders(jobs []*job) {
	count := map[string]int{}
	keys := make([]string, len(jobs))
	for i, j := range jobs {
		if keys[i] = foldersKey(j); keys[i] != "" {
			count[keys[i]]++
		}
	}
	for i, j := range jobs {
		j.conv.opts.ShareLocals = keys[i] != "" && count[keys[i]] > 1
	}
}

// foldersKey is a target's local context and Dockerfile folder; "" for a context that is not a
// local folder.
func foldersKey(j *job) string {
	o := j.conv.opts
	if !plan.IsLocalDir(o.ContextPath) {
		return ""
	}
	ctx, err := filepath.Abs(o.ContextPath)
	if err != nil {
		return ""
	}
	df := ctx
	if o.File != "" && o.File != "-" {
		if df, err = filepath.Abs(filepath.Dir(o.File)); err != nil {
			return ""
		}
	}
	return ctx + "\x00" + df
}
