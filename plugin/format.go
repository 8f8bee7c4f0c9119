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

// table writes aligned columns; rows are flushed by writeFormatted.
type table struct{ w *tabwriter.Writer }

func (t *table) row(cells ...string) {
	_, _ = fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

// writeFormatted prints v as a table (the fill function writes its rows), as indented JSON,
// or through a Go template. An invalid template is an error that names it, before anything is written.
func writeFormatted(out io.Writer, format string, v any, fill func(*table)) error {
	switch format {
	case "", formatTable:
		t := &table{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
		fill(t)
		return t.w.Flush()
	case formatJSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if !strings.Contains(format, "{{") {
		return fmt.Errorf("invalid --format %q: use %q, %q or a Go template", format, formatTable, formatJSON)
	}
	tmpl, err := templates.Parse(format)
	if err != nil {
		return fmt.Errorf("invalid --format template %q: %w", format, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("--format template %q: %w", format, err)
	}
	_, err = fmt.Fprintln(out, b.String())
	return err
}
