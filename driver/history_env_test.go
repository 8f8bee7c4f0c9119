package driver

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/internal/history"
)

// --build-arg TOKEN takes its value from the environment (as buildx): the record masks it too.
func TestHistoryMasksAnEnvBuildArg(t *testing.T) {
	t.Setenv("TOKEN", "s3cret-token")
	store := historyStore(t.TempDir() + "/config.json")
	r := &run{store: store, rec: history.Record{ID: "0123456789abcdef", Command: "build"}, masks: argValues([]string{"TOKEN"})}
	r.end("b", nil, errors.New(`process "/bin/sh -c curl s3cret-token" did not complete: exit code: 1`), nil)
	got, _ := store.Get("0123456789abcdef")
	if strings.Contains(got.Error, "s3cret") {
		t.Errorf("record error keeps the env-provided build arg: %q", got.Error)
	}
}
