package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// localLoad is --load's delivery into the current engine, made last: after every platform is
// built, the test gate passed and the tags moved, so that a build that fails, or fails the gate,
// or cannot publish, changes nothing in the local engine. Until then what BuildKit exported waits
// in a folder of its own: every platform's OCI layout (a containerd image store takes them all as
// one image) or the native platform's docker archive (a classic store holds one platform per tag).
type localLoad struct {
	dir     string
	layouts *layouts // loadAll
	archive string   // the classic store's: the docker exporter's archive
}

// localFiles are where a build's local deliveries wait on this machine until their stage: the
// --load folder, and the staging of -o outputs of several platforms (the per-platform folders of
// a tar output, the per-platform layouts of an oci output, by the output's index). They are the
// pipeline's run state, never the parsed options'.
type localFiles struct {
	load       *localLoad
	staging    string
	ociOutputs map[int]*layouts
}

// newLocalFiles makes the folders a run's local deliveries need.
func newLocalFiles(st *runState) (*localFiles, error) {
	f := &localFiles{}
	var err error
	if f.load, err = newLocalLoad(st.p.Load, st.res.loadAll); err != nil {
		return f, err
	}
	return f, f.prepareOutputs(st)
}

// close removes every folder (a load handed to the caller is theirs to close).
func (f *localFiles) close() {
	f.load.close()
	if f.staging != "" {
		_ = os.RemoveAll(f.staging)
	}
	for _, l := range f.ociOutputs {
		l.close()
	}
}

// layouts are the --load of every platform's OCI layouts, or nil.
func (f *localFiles) layouts() *layouts {
	if f.load == nil {
		return nil
	}
	return f.load.layouts
}

// newLocalLoad prepares --load's folder (every platform's layouts, or one docker archive); nil
// without --load.
func newLocalLoad(load, all bool) (*localLoad, error) {
	if !load {
		return nil, nil
	}
	l := &localLoad{}
	if all {
		var err error
		if l.layouts, err = newLayouts(); err != nil {
			return nil, err
		}
		l.dir = l.layouts.dir
		return l, nil
	}
	dir, err := os.MkdirTemp("", "multiarch-load-")
	if err != nil {
		return nil, err
	}
	l.dir, l.archive = dir, filepath.Join(dir, "docker.tar")
	return l, nil
}

// output is the docker exporter's destination (the classic store's one platform).
func (l *localLoad) output(map[string]string) (io.WriteCloser, error) {
	if l == nil {
		return nil, fmt.Errorf("--load: no folder to export into")
	}
	return os.OpenFile(l.archive, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
}

// run loads what was exported into the engine.
func (l *localLoad) run(ctx context.Context, api client.APIClient, tags, plats []string) error {
	if l.layouts != nil {
		return l.layouts.load(ctx, api, tags, plats)
	}
	f, err := os.Open(l.archive)
	if err != nil {
		return fmt.Errorf("--load: the exported image: %w", err)
	}
	defer f.Close()
	resp, err := api.ImageLoad(ctx, f)
	if err == nil {
		err = jsonmessage.DisplayJSONMessagesStream(resp, io.Discard, 0, false, nil)
		resp.Close()
	}
	if err != nil {
		return fmt.Errorf("loading into the current Docker engine: %w", err)
	}
	return nil
}

func (l *localLoad) close() {
	if l != nil {
		_ = os.RemoveAll(l.dir)
	}
}
