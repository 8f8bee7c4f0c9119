package bake

import (
	"bytes"
	"io"
	"sync"
)

// sharedDisplay tells whether several targets build at once with a display that redraws a
// terminal (auto, tty): they would overwrite each other's lines, so each shows plain progress,
// every line prefixed with its target.
func sharedDisplay(mode string, targets int) bool {
	return targets > 1 && (mode == "" || mode == "auto" || mode == "tty")
}

// setDisplay gives every target the display it shows.
func setDisplay(jobs []*job, mode string) {
	if !sharedDisplay(mode, len(jobs)) {
		return
	}
	for _, j := range jobs {
		j.conv.opts.Progress = "plain"
	}
}

// progressWriter is where a target's build writes its progress: out itself for a single target
// or raw JSON, else whole lines prefixed with the target's name ("first | #3 [linux/arm64 ...]").
func progressWriter(out io.Writer, mu *sync.Mutex, name, mode string, targets int) io.WriteCloser {
	switch {
	case targets < 2:
		return nopCloser{out}
	case mode == "rawjson": // whole JSON lines, not interleaved, as they are
		return &prefixWriter{out: out, mu: mu}
	}
	return &prefixWriter{out: out, mu: mu, prefix: []byte(name + " | ")}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// prefixWriter writes whole lines, each with its prefix, under a lock shared by the targets.
type prefixWriter struct {
	out    io.Writer
	mu     *sync.Mutex
	prefix []byte
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexByte(w.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	err := w.emit(w.buf[:i+1])
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
	return len(p), err
}

// Close writes what is left of the last line.
func (w *prefixWriter) Close() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit(append(w.buf, '\n'))
	w.buf = nil
	return err
}

func (w *prefixWriter) emit(lines []byte) error {
	var b bytes.Buffer
	for line := range bytes.Lines(lines) {
		b.Write(w.prefix)
		b.Write(line)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.out.Write(b.Bytes())
	return err
}
