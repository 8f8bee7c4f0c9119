package history

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func rec(id, command, key, outcome string, start time.Time, took time.Duration) Record {
	return Record{ID: id, Command: command, Key: key, Outcome: outcome, Start: start, End: start.Add(took)}
}

func TestStoreKeepsNewestAndFindsLastAlike(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 3
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	for _, r := range []Record{
		rec("0a", "build", Key("r/b", "r/a"), Succeeded, t0, time.Minute),
		rec("0b", "build", Key("r/a", "r/b", "r/a"), Succeeded, t0.Add(time.Hour), 2*time.Minute),
		rec("0c", "build", Key("r/a", "r/b"), Failed, t0.Add(2*time.Hour), 3*time.Minute),
		rec("0d", "bake", Key("r/a", "r/b"), Succeeded, t0.Add(3*time.Hour), 4*time.Minute),
	} {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List()
	if err != nil || len(all) != 3 || all[0].ID != "0d" || all[2].ID != "0b" {
		t.Fatalf("list: %+v, %v (want 0d 0c 0b: the oldest dropped)", all, err)
	}
	if d, ok := LastDuration(mustList(t, s), "build", Key("r/a", "r/b")); !ok || d != 2*time.Minute {
		t.Errorf("last build alike: %v %v, want 2m (the newest successful one)", d, ok)
	}
	if _, ok := LastDuration(mustList(t, s), "build", Key("r/c")); ok {
		t.Error("a build of other repositories was taken as alike")
	}
}

// What is not a record is skipped: other files, a symlink, a file whose ID differs from its
// name; an invalid ID is refused (it would be a path).
func TestStoreSkipsWhatIsNotARecord(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if err := s.Add(Record{ID: "../x", Command: "build"}); err == nil {
		t.Fatal("an ID with a path in it was written")
	}
	if err := s.Add(rec("ab", "build", "k", Succeeded, time.Now(), time.Second)); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "multiarch", "history")
	outside := filepath.Join(t.TempDir(), "cd.json")
	for path, data := range map[string]string{
		filepath.Join(hist, "notes.txt"): "x",
		filepath.Join(hist, "ef.json"):   `{"id":"00","command":"build"}`,
		filepath.Join(hist, "0f.json"):   "not json",
		outside:                          `{"id":"cd","command":"build"}`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(hist, "cd.json")); err != nil {
		t.Fatal(err)
	}
	all, err := s.List()
	if err != nil || len(all) != 1 || all[0].ID != "ab" {
		t.Errorf("list: %+v, %v, want only ab", all, err)
	}
	if none, err := Open("").List(); err != nil || none != nil || Open("").Add(rec("aa", "b", "", "", time.Now(), 0)) != nil {
		t.Error("a store without a config folder is not empty and silent")
	}
}

// A record from a clock far ahead never stays newest: new records are kept, found and trimmed
// around it, and it goes first.
func TestStoreRecordFromTheFuture(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 2
	if err := s.Add(rec("ff", "build", "k", Succeeded, time.Now().Add(24*time.Hour), time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"01", "02"} {
		if err := s.Add(rec(id, "build", "k", Succeeded, time.Now(), time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := s.List()
	if len(all) != 2 || all[0].ID == "ff" || all[1].ID == "ff" {
		t.Errorf("list %+v: the future record should have been trimmed first", all)
	}
	if d, ok := LastDuration(mustList(t, s), "build", "k"); !ok || d != time.Minute {
		t.Errorf("last duration %v %v, want 1m", d, ok)
	}
}

// The store's folders are written in place only: a history folder that is a symlink is refused.
func TestStoreRefusesASymlinkedFolder(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "multiarch"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "multiarch", "history")); err != nil {
		t.Fatal(err)
	}
	s := Open(dir)
	if err := s.Add(rec("ab", "build", "k", Succeeded, time.Now(), time.Second)); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("add through a symlinked folder: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written elsewhere: %v", entries)
	}
}

// A folder full of junk costs a bounded read: at most readLimit*keep files are opened.
func TestStoreReadsABoundedNumberOfFiles(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 3
	if err := s.Add(rec("aa", "build", "k", Succeeded, time.Now(), time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		name := filepath.Join(s.dir, fmt.Sprintf("%02x.json", 0x10+i))
		if err := os.WriteFile(name, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.newestFiles()); got != readLimit*s.keep {
		t.Errorf("%d files considered, want %d", got, readLimit*s.keep)
	}
}

// The warm nodes of a build are those of its newest successful run; a failed one, or another
// build, does not count.
func TestStoreWarmNodes(t *testing.T) {
	s := Open(t.TempDir())
	now := time.Now().Add(-time.Hour)
	for i, r := range []Record{
		{ID: "01", Command: "build", BuildKey: "k", Outcome: Succeeded, Start: now, End: now.Add(time.Second),
			Platforms: []PlatformRecord{{Platform: "linux/amd64", Node: "a"}, {Platform: "linux/arm64", Node: "pi"}}},
		{ID: "02", Command: "build", BuildKey: "k", Outcome: Succeeded, Start: now.Add(time.Minute), End: now.Add(2 * time.Minute),
			Platforms: []PlatformRecord{{Platform: "linux/amd64", Node: "b"}}},
		{ID: "03", Command: "build", BuildKey: "k", Outcome: Failed, Start: now.Add(3 * time.Minute), End: now.Add(4 * time.Minute),
			Platforms: []PlatformRecord{{Platform: "linux/amd64", Node: "c"}}},
		{ID: "04", Command: "build", BuildKey: "other", Outcome: Succeeded, Start: now.Add(5 * time.Minute), End: now.Add(6 * time.Minute),
			Platforms: []PlatformRecord{{Platform: "linux/amd64", Node: "d"}}},
	} {
		if err := s.Add(r); err != nil {
			t.Fatal(i, err)
		}
	}
	if got := WarmNodes(mustList(t, s), "k"); len(got) != 1 || got["linux/amd64"] != "b" {
		t.Errorf("warm nodes %v, want linux/amd64 on b", got)
	}
	if got := WarmNodes(mustList(t, s), ""); len(got) != 0 {
		t.Errorf("no key: %v", got)
	}
}

func mustList(t *testing.T, s *Store) []Record {
	t.Helper()
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	return all
}
