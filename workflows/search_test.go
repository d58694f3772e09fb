package workflows

import (
	"testing"

	"github.com/taxflow/taxflow/internal/testenv"
)

// The tests' dev server registers exactly the workflow's search attributes.
func TestTestServerRegistersEverySearchAttribute(t *testing.T) {
	got := testenv.SearchAttributeNames()
	if len(got) != len(SearchAttributeNames) {
		t.Fatalf("testenv registers %v, the workflow publishes %v", got, SearchAttributeNames)
	}
	for i := range got {
		if got[i] != SearchAttributeNames[i] {
			t.Fatalf("testenv registers %v, the workflow publishes %v", got, SearchAttributeNames)
		}
	}
}
