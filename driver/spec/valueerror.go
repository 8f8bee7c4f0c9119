package spec

import "fmt"

// ValueError is a bad value of a build setting: which setting (Flag, as buildx's flag names it:
// "--secret", "--output", ...), the value as an error may show it (secrets masked), and what is
// wrong with it and what to change (Err). Its message names the flag; a caller whose values come
// from elsewhere names the setting its own way (bake: the file's key, see driver/bake).
type ValueError struct {
	Flag  string
	Value string
	Err   error
}

func (e *ValueError) Error() string { return fmt.Sprintf("invalid %s %q: %v", e.Flag, e.Value, e.Err) }

func (e *ValueError) Unwrap() error { return e.Err }

// Invalid is a ValueError: flag's value shown, and what is wrong as format and args (%w wraps).
func Invalid(flag, shown, format string, args ...any) error {
	return &ValueError{Flag: flag, Value: shown, Err: fmt.Errorf(format, args...)}
}
