package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/guyub/guyub/insights"
)

// trainSentiment builds the text analyser's model from the labelled sentences in --data
// (../shared/data/sentiment: train files to learn from, valid/dev files to score on; the
// benchmarks' test splits are never read) and writes it where the binary embeds it.
// --try scores other settings on the validation files, to choose DefaultTrainSettings.
func (p program) trainSentiment(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("guyub train-sentiment", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	data := fs.String("data", "../shared/data/sentiment", "folder of the labelled sentences")
	lexicons := fs.String("lexicons", "insights/lexicons", "folder of the sentiment lexicons")
	out := fs.String("out", "insights/model.gob.gz", "where to write the model")
	try := fs.Bool("try", false, "score other settings on the validation files; write nothing")
	portal := fs.String("portal", "insights/testdata/portal-dev.tsv", "product reviews written for the portal, scored beside the validation files (never trained on)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	read := func(name, lang string) ([]insights.Example, error) {
		return insights.ReadExamples(filepath.Join(*data, name), lang)
	}
	idTrain, err := read("id-smsa-train.tsv", insights.LangIndonesian)
	if err != nil {
		return err
	}
	enTrain, err := read("en-sst2-train.tsv", insights.LangEnglish)
	if err != nil {
		return err
	}
	idValid, err := read("id-smsa-valid.tsv", insights.LangIndonesian)
	if err != nil {
		return err
	}
	enDev, err := read("en-sst2-dev.tsv", insights.LangEnglish)
	if err != nil {
		return err
	}
	portalDev, err := insights.ReadExamples(*portal, "")
	if err != nil {
		return err
	}
	train := append(idTrain, enTrain...)
	settings := []insights.TrainSettings{insights.DefaultTrainSettings}
	if *try {
		settings = insights.TrialSettings()
	}
	for _, st := range settings {
		started := time.Now()
		m, err := insights.Train(train, *lexicons, st)
		if err != nil {
			return err
		}
		id, en, pd := insights.Evaluate(m, idValid), insights.Evaluate(m, enDev), insights.Evaluate(m, portalDev)
		fmt.Fprintf(p.stdout, "settings %+v (trained in %s, %d features)\n  id-smsa-valid: %s\n  en-sst2-dev:   %s\n  portal-dev:    %s\n",
			st, time.Since(started).Round(time.Millisecond), m.Features(), id, en, pd)
		if *try {
			continue
		}
		m.About = fmt.Sprintf("trained on id-smsa-train.tsv and en-sst2-train.tsv with %+v; id-smsa-valid accuracy %.4f macro-F1 %.4f; en-sst2-dev accuracy %.4f macro-F1 %.4f",
			st, id.Accuracy, id.MacroF1, en.Accuracy, en.MacroF1)
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		n, err := m.WriteTo(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(p.stdout, "wrote %s (%d KB)\n", *out, n>>10)
	}
	return nil
}
