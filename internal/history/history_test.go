package history

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func rec(id, command, key, outcome string, start time.Time, took time.Duration) Record {
	return Record{ID: id, Command: command, Key: key, Outcome: outcome, Start: start, End: start.Add(took)}
}

func TestStoreKeepsNewestAndFindsLastAlike(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 3
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
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
	if d, ok := s.LastDuration("build", Key("r/a", "r/b")); !ok || d != 2*time.Minute {
		t.Errorf("last build alike: %v %v, want 2m (the newest successful one)", d, ok)
	}
	if _, ok := s.LastDuration("build", Key("r/c")); ok {
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
