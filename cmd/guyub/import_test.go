package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// guyub import reads a file, reports a bad line by its number, and changes nothing the
// second time.
func TestImport_CommandTwiceAndABadLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "customers.jsonl")
	os.WriteFile(file, []byte(`{"external_id": "a", "email": "ani@old.example", "name": "Ani"}
{"external_id": "b", "email": "bayu@old.example", "name": "Bayu", "created_at": "2022-01-01T00:00:00Z"}
{"external_id": "c", "email": "nope"}
`), 0o600)
	run := func() (string, string) {
		var out, errOut bytes.Buffer
		p := program{stdout: &out, stderr: &errOut}
		if err := p.run(context.Background(), []string{"import", "customers", file, "--data", filepath.Join(dir, "data")}); err != nil {
			t.Fatalf("import: %v\n%s", err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	out, errOut := run()
	if !strings.Contains(out, "customers: 2 created, 0 unchanged, 1 with errors") || !strings.Contains(errOut, "line 3: email:") {
		t.Fatalf("first import:\n%s\n%s", out, errOut)
	}
	if out, _ = run(); !strings.Contains(out, "customers: 0 created, 2 unchanged, 1 with errors") {
		t.Fatalf("second import:\n%s", out)
	}
}
