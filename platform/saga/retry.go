package saga

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
)

var errNotRetryable = apperr.E(apperr.Conflict, "saga_not_retryable",
	"Only a saga parked after a failing compensation can be retried.")

// Retry puts a saga parked as needs_attention after a failing compensation
// back to compensating with its attempts reset; the next resume pass drives
// it again. A saga parked for another reason (its version is no longer
// registered) or in any other state answers Conflict saga_not_retryable.
func (o *Orchestrator) Retry(ctx context.Context, id string) error {
	return o.store.db.Tx(ctx, func(tx *gorm.DB) error {
		var row instanceRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			if database.IsNotFound(err) {
				return apperr.NotFoundf("saga_not_found", "Saga")
			}
			return err
		}
		if row.State != NeedsAttention {
			return errNotRetryable
		}
		var last stepRow
		if err := tx.Where("saga_id = ?", id).Order("at DESC, id DESC").Take(&last).Error; err != nil {
			if database.IsNotFound(err) {
				return errNotRetryable
			}
			return err
		}
		if last.Phase != PhaseCompensate || last.Status != statusFailed {
			return errNotRetryable
		}
		return tx.Model(&instanceRow{}).Where("id = ? AND state = ?", id, NeedsAttention).Updates(map[string]any{
			"state": Compensating, "attempts": 0, "next_attempt_at": nil, "finished_at": nil,
			"lease_owner": "", "lease_expires_at": nil, "updated_at": o.now().UTC(),
		}).Error
	})
}

// retryAnswer is the body of a 202 from POST /sagas/:id/retry.
type retryAnswer struct {
	SagaID string `json:"saga_id"`
	State  State  `json:"state"`
}

func (o *Orchestrator) handleRetry(c *gin.Context) error {
	id := c.Param("id")
	if err := o.Retry(c.Request.Context(), id); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, retryAnswer{SagaID: id, State: Compensating})
	return nil
}
