package api

import (
	"errors"
	"net/http"

	"go.temporal.io/api/serviceerror"

	"github.com/taxflow/taxflow/workflows"
)

type bulkRetryView struct {
	ID         string                     `json:"id"`
	WorkflowID string                     `json:"workflow_id"`
	Status     string                     `json:"status"` // running, completed
	Result     *workflows.BulkRetryResult `json:"result,omitempty"`
}

// retryFailed retries every failed invoice, in a workflow of its own that stays within the
// rate limits and reports how many succeeded (GET /v1/bulk-retries/{id}).
func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request) error {
	id := s.now().UTC().Format("20060102T150405.000000000Z")
	if err := s.Workflows.StartBulkRetry(r.Context(), id, workflows.BulkRetryInput{}); err != nil {
		s.Log.Warn("bulk retry not started", "error", err)
		return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the bulk retry could not be started: send the request again")
	}
	writeJSON(w, http.StatusAccepted, bulkRetryView{ID: id, WorkflowID: workflows.BulkRetryWorkflowID(id), Status: "running"})
	return nil
}

func (s *Server) getBulkRetry(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > 64 {
		return badRequest("invalid_id", "id", "id must be the id POST /v1/invoices/retry-failed answered")
	}
	running, res, err := s.Workflows.BulkRetryOutcome(r.Context(), id)
	var missing *serviceerror.NotFound
	if errors.As(err, &missing) {
		return notFound("bulk retry", id)
	}
	if err != nil {
		return err
	}
	v := bulkRetryView{ID: id, WorkflowID: workflows.BulkRetryWorkflowID(id), Status: "completed", Result: res}
	if running {
		v.Status = "running"
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
