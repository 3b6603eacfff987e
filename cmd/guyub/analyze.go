package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/guyub/guyub/insights"
)

// analyze reads one text a line on standard input and writes, a line each, what the
// analyser reads in it: {"lang", "sentiment", "score", "themes"}.
func (p program) analyze(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("guyub analyze", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	lang := fs.String("lang", "auto", "the texts' language: en, id, or auto (told per text)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lang != "auto" && *lang != insights.LangEnglish && *lang != insights.LangIndonesian {
		return fmt.Errorf("--lang: %q is not en, id or auto", *lang)
	}
	m, err := insights.DefaultModel()
	if err != nil {
		return err
	}
	a := insights.NewAnalyser(m, insights.CompileThemes(insights.DefaultThemes))
	in := bufio.NewScanner(p.stdin)
	in.Buffer(make([]byte, 64<<10), 16<<20) // a line may be long; the analyser reads its start
	out := bufio.NewWriter(p.stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var r insights.Result
		if *lang == "auto" {
			r = a.Analyse(in.Text(), "")
		} else {
			r = a.AnalyseIn(in.Text(), *lang)
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	return out.Flush()
}
