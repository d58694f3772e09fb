package api

import (
	"context"
	"time"

	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// SweepUnstarted starts the workflows of stored invoices whose start failed (Temporal was
// unreachable when they were posted), every interval until ctx ends. An accepted invoice is
// never left without its workflow.
func (s *Server) SweepUnstarted(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.sweepOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) sweepOnce(ctx context.Context) int {
	rows, err := s.Store.ListUnstartedInvoices(ctx, sqldb.ListUnstartedInvoicesParams{
		// Leave requests in flight alone: they start their own workflow.
		CreatedBefore: s.now().Add(-10 * time.Second),
		MaxRows:       500,
	})
	if err != nil {
		if ctx.Err() == nil {
			s.Log.Warn("sweeper: cannot list unstarted invoices", "error", err)
		}
		return 0
	}
	started := 0
	for _, r := range rows {
		if s.startWorkflow(ctx, r.ID) {
			started++
		}
	}
	if started > 0 {
		s.Log.Info("sweeper started invoice workflows", "count", started)
	}
	return started
}
