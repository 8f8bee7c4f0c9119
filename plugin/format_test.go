package plugin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type sample struct {
	Name string `json:"name"`
	Arch string `json:"arch"`
}

func fillSample(s sample) func(*table) {
	return func(t *table) {
		t.row("NAME", "ARCH")
		t.row(s.Name, s.Arch)
	}
}

func TestWriteFormatted(t *testing.T) {
	s := sample{Name: "node-with-long-name", Arch: "arm64"}
	for _, tc := range []struct {
		format, want string
	}{
		{"", "NAME                 ARCH\nnode-with-long-name  arm64\n"},
		{"table", "NAME                 ARCH\nnode-with-long-name  arm64\n"},
		{"{{.Name}}/{{.Arch}}", "node-with-long-name/arm64\n"},
		{"{{json .}}", `{"name":"node-with-long-name","arch":"arm64"}` + "\n"},
	} {
		var b bytes.Buffer
		if err := writeFormatted(&b, tc.format, s, fillSample(s)); err != nil {
			t.Fatalf("format %q: %v", tc.format, err)
		}
		if b.String() != tc.want {
			t.Errorf("format %q:\n got %q\nwant %q", tc.format, b.String(), tc.want)
		}
	}
}

func TestWriteFormattedJSON(t *testing.T) {
	s := sample{Name: "a", Arch: "amd64"}
	var b bytes.Buffer
	if err := writeFormatted(&b, "json", s, fillSample(s)); err != nil {
		t.Fatal(err)
	}
	var got sample
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || got != s {
		t.Fatalf("json output %q decodes to %+v (%v)", b.String(), got, err)
	}
}

func TestWriteFormattedRejectsBadFormat(t *testing.T) {
	for _, format := range []string{"yaml", "{{.Name", "{{.Missing}}"} {
		var b bytes.Buffer
		err := writeFormatted(&b, format, sample{}, fillSample(sample{}))
		if err == nil || !strings.Contains(err.Error(), format) {
			t.Errorf("format %q: error %v does not name it", format, err)
		}
		if b.Len() != 0 {
			t.Errorf("format %q: wrote %q before failing", format, b.String())
		}
	}
}
