package history

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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

// addAt writes a record whose file was written at when (what Find and trim order by).
func addAt(t *testing.T, s *Store, r Record, when time.Time) {
	t.Helper()
	if err := s.Add(r); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(s.dir, r.ID+".json"), when, when); err != nil {
		t.Fatal(err)
	}
}

// A rebuild reads the newest record only, not the whole history (it used to read every record
// twice per build: 200 of them cost about 0.1 s); trimming a full store reads the one it removes.
func TestFindReadsOnlyWhatItNeeds(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 50
	t0 := time.Now().Add(-time.Hour)
	for i := range 50 {
		r := rec(fmt.Sprintf("%02x", i+1), "build", "repo", Succeeded, t0.Add(time.Duration(i)*time.Minute), time.Duration(i+1)*time.Second)
		r.BuildKey, r.Platforms = "k", []PlatformRecord{{Platform: "linux/amd64", Node: fmt.Sprintf("n%d", i)}}
		addAt(t, s, r, t0.Add(time.Duration(i)*time.Minute))
	}
	s.reads.Store(0)
	f := s.Find("build", "repo", "k")
	if f.Expected != 50*time.Second || f.Warm["linux/amd64"] != "n49" || s.reads.Load() != 1 {
		t.Errorf("found %+v reading %d records, want 50s and n49 from the newest alone", f, s.reads.Load())
	}
	s.reads.Store(0)
	if err := s.Add(rec("ff", "build", "repo", Succeeded, time.Now(), time.Second)); err != nil {
		t.Fatal(err)
	}
	if s.reads.Load() != 1 {
		t.Errorf("adding to a full store read %d records, want the one it removes", s.reads.Load())
	}
	if all := mustList(t, s); len(all) != 50 || slices.ContainsFunc(all, func(r Record) bool { return r.ID == "01" }) {
		t.Errorf("%d records kept, or the oldest (01) kept", len(all))
	}
}

// Trimming removes records only: a file beyond keep that is not a record stays.
func TestTrimRemovesRecordsOnly(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 2
	t0 := time.Now().Add(-time.Hour)
	addAt(t, s, rec("01", "build", "k", Succeeded, t0, time.Second), t0)
	junk := filepath.Join(s.dir, "02.json")
	if err := os.WriteFile(junk, []byte("not a record"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(junk, t0, t0); err != nil {
		t.Fatal(err)
	}
	addAt(t, s, rec("03", "build", "k", Succeeded, t0.Add(time.Minute), time.Second), t0.Add(time.Minute))
	if err := s.Add(rec("04", "build", "k", Succeeded, t0.Add(2*time.Minute), time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(junk); err != nil {
		t.Errorf("a file that is not a record was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "01.json")); err == nil {
		t.Error("the oldest record beyond keep stayed")
	}
}

// Find says what LastDuration and WarmNodes say of the whole list, for any history written in
// order (differential, random records); a record from the future is read last.
func TestFindAgreesWithTheWholeList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	for round := range 200 {
		s := Open(t.TempDir())
		t0 := time.Now().Add(-24 * time.Hour)
		for i := range rng.IntN(8) {
			r := rec(fmt.Sprintf("%02x", i+1), pick("build", "bake"), pick("a", "b"), pick(Succeeded, Failed), t0.Add(time.Duration(i)*time.Minute), time.Duration(rng.IntN(3))*time.Second)
			r.BuildKey = pick("", "k", "j")
			if rng.IntN(2) == 0 {
				r.Platforms = []PlatformRecord{{Platform: "linux/amd64", Node: fmt.Sprintf("n%d", i)}}
			}
			addAt(t, s, r, t0.Add(time.Duration(i)*time.Minute))
		}
		all := mustList(t, s)
		for _, q := range [][3]string{{"build", "a", "k"}, {"bake", "b", ""}, {"build", "b", "j"}} {
			f := s.Find(q[0], q[1], q[2])
			d, _ := LastDuration(all, q[0], q[1])
			if w := WarmNodes(all, q[2]); f.Expected != d || !maps.Equal(f.Warm, w) {
				t.Fatalf("round %d %v: Find %+v, the list says %v %v", round, q, f, d, w)
			}
		}
	}
	s := Open(t.TempDir())
	addAt(t, s, rec("ff", "build", "k", Succeeded, time.Now().Add(24*time.Hour), time.Hour), time.Now())
	addAt(t, s, rec("01", "build", "k", Succeeded, time.Now().Add(-time.Hour), time.Minute), time.Now().Add(-time.Hour))
	if f := s.Find("build", "k", ""); f.Expected != time.Minute {
		t.Errorf("a record from the future was taken first: %v", f.Expected)
	}
}

// A record file touched into the future (a copy from a machine whose clock is ahead) is the
// oldest, not the newest forever: Find takes the others first, and trimming removes it first.
// Of two runs that overlapped, the one that ended last counts (it left the cache as it is).
func TestFindOrdersByEndAndDistrustsFutureFiles(t *testing.T) {
	s := Open(t.TempDir())
	s.keep = 2
	now := time.Now()
	stale := rec("0a", "build", "k", Succeeded, now.Add(-2*time.Hour), time.Hour)
	stale.BuildKey, stale.Platforms = "b", []PlatformRecord{{Platform: "linux/amd64", Node: "stale"}}
	addAt(t, s, stale, now.Add(48*time.Hour))
	long := rec("0b", "build", "k", Succeeded, now.Add(-40*time.Minute), 30*time.Minute) // started first, ended last
	long.BuildKey, long.Platforms = "b", []PlatformRecord{{Platform: "linux/amd64", Node: "long"}}
	short := rec("0c", "build", "k", Succeeded, now.Add(-35*time.Minute), 5*time.Minute)
	short.BuildKey, short.Platforms = "b", []PlatformRecord{{Platform: "linux/amd64", Node: "short"}}
	addAt(t, s, short, now.Add(-30*time.Minute))
	addAt(t, s, long, now.Add(-10*time.Minute))
	if f := s.Find("build", "k", "b"); f.Expected != 30*time.Minute || f.Warm["linux/amd64"] != "long" {
		t.Errorf("found %+v, want the run that ended last (30m, on long)", f)
	}
	if err := s.Add(rec("0d", "merge", "m", Succeeded, now, time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "0a.json")); err == nil {
		t.Error("the record touched into the future was kept over newer ones")
	}
}
