package runner

// Fuzz target of the reader of the lint results a BuildKit sends for --call check (check.go).

import (
	"encoding/json"
	"testing"

	"github.com/moby/buildkit/frontend/subrequests/lint"
)

func FuzzReadLint(f *testing.F) {
	src := `{"filename":"Dockerfile","data":"RlJPTSBhbHBpbmUgYXMgQnVpbGQKUlVOIGVjaG8gaGkK","language":"Dockerfile"}`
	loc := func(i string) string {
		return `{"sourceIndex":` + i + `,"ranges":[{"start":{"line":1,"character":0},"end":{"line":1,"character":20}}]}`
	}
	for _, s := range []string{
		`{"warnings":[{"ruleName":"FromAsCasing","description":"The 'as' keyword should match the case of the 'from' keyword","url":"https://docs.docker.com/go/dockerfile/rule/from-as-casing/","detail":"'as' and 'FROM' keywords' casing do not match","location":` + loc("0") + `}],"sources":[` + src + `]}`,
		`{"warnings":[],"sources":[` + src + `],"error":{"message":"dockerfile parse error","location":` + loc("0") + `}}`,
		`{"warnings":[{"ruleName":"X","location":` + loc("-1") + `}]}`,
		`{"warnings":[{"ruleName":"X","location":` + loc("3") + `}],"sources":[` + src + `]}`,
		`{"error":{"message":"x","location":` + loc("5") + `}}`,
		`{"warnings":[{}]}`, `{"sources":[null],"warnings":[{"location":` + loc("0") + `}]}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, dt []byte) {
		if len(dt) > 1<<16 {
			t.Skip()
		}
		var out CheckResult
		if err := readLint(&out, map[string][]byte{"result.json": dt, "result.statuscode": []byte("1")}); err != nil {
			return
		}
		var results lint.LintResults
		if err := json.Unmarshal(dt, &results); err != nil {
			t.Fatalf("read what json does not: %v", err)
		}
		if out.Warnings != len(results.Warnings) || out.StatusCode != 1 || (results.Error != nil) != (out.Error != "") {
			t.Fatalf("%s read as %+v", dt, out)
		}
	})
}
