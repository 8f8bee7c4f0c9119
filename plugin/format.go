package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/templates"
	"github.com/spf13/cobra"
)

const (
	formatTable = "table"
	formatJSON  = "json"
)

func addFormatFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "format", formatTable,
		`Format the output: "table", "json", or a Go template`)
}

// checkFormat rejects a --format value before any work is done; it returns the parsed template,
// if the format is one.
func checkFormat(format string) (*templateFormat, error) {
	switch {
	case format == "" || format == formatTable || format == formatJSON:
		return nil, nil
	case !strings.Contains(format, "{{"):
		return nil, fmt.Errorf("invalid --format %q: use %q, %q or a Go template", format, formatTable, formatJSON)
	}
	tmpl, err := templates.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("invalid --format template %q: %w", format, err)
	}
	return &templateFormat{format, tmpl}, nil
}

type templateFormat struct {
	text string
	tmpl interface {
		Execute(io.Writer, any) error
	}
}

// execute renders v and a newline into b.
func (t *templateFormat) execute(b *strings.Builder, v any) error {
	if err := t.tmpl.Execute(b, v); err != nil {
		return fmt.Errorf("--format template %q: %w", t.text, err)
	}
	b.WriteByte('\n')
	return nil
}

// table writes aligned columns; rows are flushed by writeFormatted.
type table struct{ w *tabwriter.Writer }

func (t *table) row(cells ...string) {
	_, _ = fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

// writeFormatted prints v as a table (the fill function writes its rows), as indented JSON,
// or through a Go template. A bad format is an error that names it, before anything is written.
func writeFormatted(out io.Writer, format string, v any, fill func(*table)) error {
	tf, err := checkFormat(format)
	if err != nil {
		return err
	}
	switch {
	case tf != nil:
		var b strings.Builder
		if err := tf.execute(&b, v); err != nil {
			return err
		}
		_, err = io.WriteString(out, b.String())
		return err
	case format == formatJSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	t := &table{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	fill(t)
	return t.w.Flush()
}

// writeList prints items as a table (header, then one row per item), as a JSON array, or through a
// Go template applied to each item, one line each, as docker's list commands do.
func writeList[T any](out io.Writer, format string, items []T, header []string, row func(T) []string) error {
	if items == nil {
		items = []T{} // JSON: [] rather than null
	}
	tf, err := checkFormat(format)
	if err != nil {
		return err
	}
	if tf == nil {
		return writeFormatted(out, format, items, func(t *table) {
			t.row(header...)
			for _, it := range items {
				t.row(row(it)...)
			}
		})
	}
	var b strings.Builder
	for _, it := range items {
		if err := tf.execute(&b, it); err != nil {
			return err
		}
	}
	_, err = io.WriteString(out, b.String())
	return err
}
