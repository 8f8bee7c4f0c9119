// Package bounded reads what others wrote (files named by metadata or layouts, a subprocess's
// output) within a stated size, so that a huge or endless answer is a clear error naming it, never
// all the memory of the machine.
package bounded

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// ReadFile reads a file of at most limit bytes; a larger one is an error naming it.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, limit, path)
}

// Read reads r to its end, at most limit bytes; past that it fails, naming what (a file, a stream).
func Read(r io.Reader, limit int64, what string) ([]byte, error) {
	dt, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(dt)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return dt, nil
}

// TooLargeError is a read that went past its limit.
type TooLargeError struct {
	What  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, more than docker multiarch reads", e.What, Size(e.Limit))
}

// Size is a limit in words ("4 MiB", "512 KiB").
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Cut is s at most n bytes long, "..." marking what was cut: what another party wrote, kept or
// shown within a size.
func Cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Buffer keeps at most Limit bytes written to it: a write past that fails (a subprocess writing to
// it then gets a broken pipe), and Err says what overflowed. It is not a bytes.Buffer: io.Copy
// would go around Write through its ReadFrom.
type Buffer struct {
	Limit int64
	What  string
	buf   bytes.Buffer
	over  bool
}

func (b *Buffer) Write(p []byte) (int, error) {
	if room := b.Limit - int64(b.buf.Len()); int64(len(p)) > room {
		b.over = true
		if room > 0 {
			_, _ = b.buf.Write(p[:room])
		}
		return int(max(room, 0)), b.Err()
	}
	return b.buf.Write(p)
}

// Bytes are what was kept; String is the same as text; Len is their length.
func (b *Buffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *Buffer) String() string { return b.buf.String() }
func (b *Buffer) Len() int       { return b.buf.Len() }

// Err is the overflow, or nil.
func (b *Buffer) Err() error {
	if !b.over {
		return nil
	}
	return &TooLargeError{What: b.What, Limit: b.Limit}
}
