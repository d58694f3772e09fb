package bench

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// HistoryCost is what one workflow costs the Temporal server: its history's events and
// their size as the server stores them (the protobuf encoding, payloads encrypted by
// taxflow's codec included).
type HistoryCost struct {
	Events     int `json:"events"`
	Bytes      int `json:"bytes"`
	Activities int `json:"activities"`
	// ByType counts the events by type (what makes one history longer than another).
	ByType map[string]int `json:"by_type,omitempty"`
}

// historyCost reads a workflow's history as it stands (a watching invoice's is open).
func (p *platform) historyCost(ctx context.Context, workflowID string) (HistoryCost, error) {
	it := p.client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	c := HistoryCost{ByType: map[string]int{}}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return HistoryCost{}, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
		c.ByType[strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")]++
		if e.GetEventType() == enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			c.Activities++
		}
	}
	c.Events, c.Bytes = len(h.Events), proto.Size(h)
	return c, nil
}
