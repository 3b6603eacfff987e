package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/store"
)

// importFile brings content in from another system: guyub import KIND FILE.jsonl, one JSON
// object a line (README, "Imports"). Importing the same file again changes nothing; a line
// that cannot be imported is reported with its number and the rest go on.
func (p program) importFile(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: guyub import KIND FILE.jsonl (KIND: %v)", importer.Kinds)
	}
	kind, path := args[0], args[1]
	cfg, err := loadConfig("guyub import", args[2:], p.environ, p.stderr)
	if err != nil {
		return err
	}
	lines, err := countLines(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	log := cfg.logger(p.stderr)
	_, serverRunning := store.EmbeddedURI(cfg.DataDir)
	svc, err := openServices(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	started := time.Now()
	bar := newProgressBar(p.stderr, "import "+kind, lines)
	counts := map[string]int{}
	var problems []string
	err = importer.New(svc.store.DB, svc.customers, svc.reviews, svc.community).Import(ctx, kind, f, svc.describe, func(r importer.Result) {
		counts[r.Status]++
		for field, msg := range r.Errors {
			problems = append(problems, fmt.Sprintf("line %d: %s: %s", r.Line, field, msg))
		}
		_ = bar.Set(r.Line)
	})
	_ = bar.Finish()
	for _, line := range problems {
		fmt.Fprintln(p.stderr, line)
	}
	if err != nil {
		return err
	}
	took := time.Since(started)
	n := counts["created"] + counts["unchanged"] + counts["error"]
	fmt.Fprintf(p.stdout, "%s: %d created, %d unchanged, %d with errors, in %s (%.0f lines/s)\n", kind, counts["created"], counts["unchanged"],
		counts["error"], took.Round(time.Millisecond), float64(n)/took.Seconds())
	return p.indexWritten(ctx, cfg, svc, serverRunning)
}

// describe words a line's problem in English, a message per field.
func (s *services) describe(err error) map[string]string {
	var f *errs.Fields
	if errors.As(err, &f) {
		out := map[string]string{}
		for _, field := range f.Order {
			m := f.ByName[field]
			out[field] = s.catalog.T("en", m.ID, m.Args...)
		}
		return out
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return map[string]string{"line": s.catalog.T("en", e.Message.ID, e.Message.Args...)}
	}
	return map[string]string{"line": err.Error()}
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), importer.MaxLine)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
