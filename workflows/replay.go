package workflows

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// HistoryDir holds committed workflow histories (exported from a real server) that every
// change must replay: a non-deterministic change to the workflow fails `make test`.
const HistoryDir = "testdata/histories"

// ReplayHistories replays every history file in dir against the current workflow code.
func ReplayHistories(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(InvoiceWorkflow, workflow.RegisterOptions{Name: InvoiceWorkflowName})
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return files, err
		}
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		r.Close()
		if err != nil {
			return files, fmt.Errorf("%s: %w", f, err)
		}
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			return files, fmt.Errorf("%s does not replay against the current workflow (a change needs workflow.GetVersion): %w", filepath.Base(f), err)
		}
	}
	return files, nil
}
