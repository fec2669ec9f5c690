package jobs

import "context"

// Claimed exposes a held job to the external tests.
type Claimed = claimed

// ErrLeaseLost exposes errLeaseLost.
var ErrLeaseLost = errLeaseLost

// Claim leases up to n due jobs of kind to q without running them, as a
// worker that then dies would.
func (q *Queue) Claim(ctx context.Context, kind string, n int) ([]Claimed, error) {
	return q.claim(ctx, kind, n)
}

// Succeed records c's success as its worker would.
func (q *Queue) Succeed(ctx context.Context, c Claimed) error { return q.succeed(ctx, c) }
