package workflows

import "testing"

// Every committed history replays against the current code. Histories come from the real
// server: `TAXFLOW_RECORD_HISTORIES=1 go test ./internal/e2e -run TestHistories` rewrites
// them (see the README).
func TestCommittedHistoriesReplay(t *testing.T) {
	files, err := ReplayHistories(HistoryDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d committed histories in %s, want at least the happy path, the retry and the void", len(files), HistoryDir)
	}
}
