package activity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMongoMetricChanges(t *testing.T) {
	t.Parallel()

	t.Run("skips_stamps_without_samples_and_still_fills_the_page", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		u := contractUser(t, "mstamps")
		from := metricFeedNow()
		contractAdd(t, s, u, []Sample{contractSample("steps", 0, 5, "phone", "")}, 1, 0)
		// Stamps whose samples never came (a crash after stamping) and one
		// of an erased user's slot, between two real changes.
		require.NoError(t, s.stampSlots(sctx, u, map[slotKey]struct{}{
			{"steps", mongoFloorDiv(mongoMicros(ct0.Add(time.Hour)), mongoSlotUS)}: {},
			{"heart_rate", mongoFloorDiv(mongoMicros(ct0), mongoSlotUS)}:           {},
		}))
		gone := contractUser(t, "mstamps-gone")
		contractAdd(t, s, gone, []Sample{contractSample("steps", 0, 1, "phone", "")}, 1, 0)
		_, err := s.samples.DeleteMany(sctx, bson.D{{Key: "user_id", Value: gone}}) // its samples, not its stamp
		require.NoError(t, err)
		contractAdd(t, s, u, []Sample{contractSample("steps", 2*time.Hour, 7, "phone", "")}, 1, 0)

		want := []MetricSlotChange{
			{UserID: u, Metric: "steps", SlotStart: ct0, Sum: 5, Count: 1, Min: 5, Max: 5},
			{UserID: u, Metric: "steps", SlotStart: ct0.Add(2 * time.Hour), Sum: 7, Count: 1, Min: 7, Max: 7},
		}
		page, err := s.MetricChanges(sctx, from, 2)
		require.NoError(t, err)
		assert.Equal(t, want, unstamped(page), "a full page past the empty stamps")
		for _, limit := range []int{1, 2, 3} {
			assert.Equal(t, want, unstamped(metricFeed(t, s, from, pages(limit), u, gone)), "pages of %d", limit)
		}
	})

	t.Run("stamps_hundreds_of_stored_slots_in_one_write", func(t *testing.T) {
		t.Parallel()
		// One update command changing more than 100 stored documents hangs
		// FerretDB v1: the stamps must not be written that way.
		s, _ := openMongoStore(t)
		u := contractUser(t, "mstamps-many")
		batch := make([]Sample, 300)
		for i := range batch {
			batch[i] = contractSample("heart_rate", time.Duration(i)*SlotSize, 60, "watch", "")
		}
		contractAdd(t, s, u, batch, 300, 0)
		for i := range batch {
			batch[i].Source, batch[i].Value = "chest", 80
		}
		from := metricFeedNow()
		contractAdd(t, s, u, batch, 300, 0)
		got := metricFeed(t, s, from, pages(MaxChanges), u)
		require.Len(t, got, 300, "every slot moved")
		for _, c := range got {
			assert.Equal(t, MetricSlotChange{UserID: u, Metric: "heart_rate", SlotStart: c.SlotStart, Sum: 140, Count: 2,
				Min: 60, Max: 80}, unstamped([]MetricSlotChange{c})[0])
		}
	})
}
