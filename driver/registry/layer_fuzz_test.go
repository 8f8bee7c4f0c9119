package registry

// Fuzz target of the layers --verify-reproducible reads from a registry (layerfiles.go): any bytes
// give files or an error, never a panic, and every path shown is absolute, printable and cut.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzReadLayer(f *testing.F) {
	f.Add(gzipTar(f, tarFile{name: "etc/os", body: "debian", mode: 0o644}))
	f.Add(gzipTar(f, tarFile{name: "../../escape\x1b[2J", body: "x", mode: 0o644}))
	f.Add([]byte("not a layer"))
	f.Add(sparseTar(f))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, dt []byte) {
		if len(dt) > 1<<16 {
			t.Skip()
		}
		files, err := readLayer(context.Background(), bytes.NewReader(dt), 1)
		if err != nil {
			return
		}
		for p, st := range files {
			if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, `"/`) || len(p) > 4*512+16 {
				t.Fatalf("path shown as %q", p)
			}
			if !utf8.ValidString(p) || strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
				t.Fatalf("path %q holds what a terminal acts on", p)
			}
			if st.Layer != 1 || !utf8.ValidString(st.Link) || strings.ContainsFunc(st.Link, func(r rune) bool { return !unicode.IsPrint(r) }) {
				t.Fatalf("state %+v", st)
			}
		}
	})
}
