package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"
)

// quietFormat is what -q prints of a list: the names, one per line.
const quietFormat = "{{.Name}}"

// listFlags are the output flags of a list command: --format, and -q where the items have names.
type listFlags struct {
	format string
	quiet  bool
}

func addListFlags(cmd *cobra.Command, f *listFlags, quiet string) {
	cmd.Flags().StringVar(&f.format, "format", formatter.TableFormatKey,
		`Format the output: "table", "json" (one object per line), "table TEMPLATE" or a Go template`)
	if quiet != "" {
		cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, quiet)
	}
}

// listFormat resolves a list command's --format (and -q) as docker's list commands do: "table"
// (or nothing) is the command's default table, "json" one JSON object per line, "table TEMPLATE"
// a header row and a row per item, any other Go template a line per item. With -q only the
// names are printed; a custom --format is then ignored, with docker's warning. A value that is
// none of these, or a template that does not parse, is an error naming it, before any work.
func listFormat(f listFlags, defaultTable string, warn io.Writer) (formatter.Format, error) {
	if f.quiet {
		if f.format != "" && f.format != formatter.TableFormatKey {
			_, _ = fmt.Fprintln(warn, "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		}
		return quietFormat, nil
	}
	switch {
	case f.format == "" || f.format == formatter.TableFormatKey:
		return formatter.Format(defaultTable), nil
	case f.format == formatter.JSONFormatKey:
		return formatter.JSONFormatKey, nil
	case !strings.Contains(f.format, "{{"):
		return "", fmt.Errorf(`invalid --format %q: use "table", "json", "table TEMPLATE" or a Go template`, f.format)
	}
	format := formatter.Format(f.format)
	// Write parses the template (and renders a table's header) before any row: no row, no output.
	check := formatter.Context{Output: io.Discard, Format: format}
	if err := check.Write(&formatter.HeaderContext{Header: formatter.SubHeaderContext{}}, noRows); err != nil {
		return "", fmt.Errorf("invalid --format template %q: %w", f.format, err)
	}
	return format, nil
}

func noRows(func(formatter.SubContext) error) error { return nil }

// writeRows renders items through docker/cli's formatter: header names the table's columns
// (the template's fields). Nothing is written when a row fails to render.
func writeRows[T any](out io.Writer, format formatter.Format, header formatter.SubHeaderContext, items []T, row func(T) formatter.SubContext) error {
	ctx := formatter.Context{Output: out, Format: format}
	err := ctx.Write(&formatter.HeaderContext{Header: header}, func(write func(formatter.SubContext) error) error {
		for _, it := range items {
			if err := write(row(it)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("--format %q: %w", string(format), err)
	}
	return nil
}

// marshalJSON is a row's JSON, with <, > and & kept as they are (as docker's json template
// function keeps them).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
