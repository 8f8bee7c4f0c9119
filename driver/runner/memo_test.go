package runner

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// A value is computed once for every caller, also when they ask at once; an error is kept too.
func TestMemoComputesOnce(t *testing.T) {
	var mu sync.Mutex
	var m map[string]*memoEntry[[]string]
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, err := get(&mu, &m, "busybox", func() ([]string, error) {
				calls.Add(1)
				return []string{"linux/amd64"}, nil
			})
			if err != nil || len(v) != 1 {
				t.Errorf("%v %v", v, err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("computed %d times", calls.Load())
	}
	boom := errors.New("boom")
	for range 2 {
		if _, err := get(&mu, &m, "gone", func() ([]string, error) { calls.Add(1); return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("an error was computed again: %d calls", calls.Load())
	}
}
