package groups

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// EndedHostGone ends the open sessions of a host whose account is erased.
const EndedHostGone = "host_deleted"

// EraseAccount forgets a user (the users module's AccountEraser;
// idempotent): their chat lines, invites, meeting attendance and part in
// other sessions' summaries go; the meetings they organised are
// cancelled and the sessions they host that have not ended end. Ended
// sessions they hosted stay for their participants' history.
func (s *service) EraseAccount(ctx context.Context, userID string) error {
	var meetings []string
	err := s.st.db.Read(ctx).Model(&meetingRow{}).Where("organizer_id = ?", userID).Pluck("id", &meetings).Error
	if err != nil {
		return err
	}
	for _, id := range meetings {
		if err := s.CancelMeeting(ctx, id); err != nil {
			return err
		}
	}
	var open []string
	err = s.st.db.Read(ctx).Model(&sessionRow{}).Where("host_id = ? AND ended_at IS NULL", userID).Pluck("id", &open).Error
	if err != nil {
		return err
	}
	for _, id := range open {
		if err := s.endLive(ctx, id, EndedHostGone); err != nil {
			return err
		}
	}
	// Their lines leave the recent chat of sessions still live (for the
	// ended ones it is gone already).
	var chatted []string
	err = s.st.db.Read(ctx).Model(&chatRow{}).Distinct("session_id").Where("user_id = ?", userID).Pluck("session_id", &chatted).Error
	if err != nil {
		return err
	}
	for _, id := range chatted {
		err := s.updateRecent(ctx, id, func(lines []ChatMessage) []ChatMessage {
			return slices.DeleteFunc(lines, func(l ChatMessage) bool { return l.UserID == userID })
		})
		if err != nil {
			return err
		}
	}
	var summarized []string
	err = s.st.db.Read(ctx).Model(&summaryMemberRow{}).Where("user_id = ?", userID).Pluck("session_id", &summarized).Error
	if err != nil {
		return err
	}
	return s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		for _, id := range summarized {
			if err := s.st.forgetInSummary(tx, id, userID, s.now()); err != nil {
				return err
			}
		}
		for _, m := range []any{&chatRow{}, &inviteRow{}, &attendeeRow{}, &summaryMemberRow{}} {
			if err := tx.Where("user_id = ?", userID).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// forgetInSummary takes a participant out of a stored summary; the vote
// counts, which never named anyone, stay. The row is read locked, so that
// two erasures rewriting one summary at once do not undo each other. The
// rewrite is a change in the attendance feed: its updated_at moves to now,
// or just past its previous value if this replica's clock is behind the
// one that wrote it (a change must not sort before the one it replaces).
func (st store) forgetInSummary(tx *gorm.DB, sessionID, userID string, now time.Time) error {
	var row summaryRow
	if err := st.locking(tx).Where("session_id = ?", sessionID).Limit(1).Find(&row).Error; err != nil || row.SessionID == "" {
		return err
	}
	var sum Summary
	if err := json.Unmarshal([]byte(row.Summary), &sum); err != nil {
		return err
	}
	n := len(sum.Participants)
	sum.Participants = slices.DeleteFunc(sum.Participants, func(p SummaryParticipant) bool { return p.UserID == userID })
	if len(sum.Participants) == n {
		return nil // not in it (erased before, or never present)
	}
	doc, err := json.Marshal(&sum)
	if err != nil {
		return err
	}
	at := utc(now)
	if prev := utc(row.UpdatedAt); !at.After(prev) {
		at = prev.Add(time.Microsecond)
	}
	return tx.Model(&summaryRow{}).Where("session_id = ?", sessionID).
		Updates(map[string]any{"summary": string(doc), "updated_at": at}).Error
}

// forgetLateErased runs after a summary is stored: an account erased while
// it was being written (after forgetErased asked, before the commit) may
// have found nothing of it to forget. Asking again now that the summary is
// visible to every erasure closes the gap: whoever is gone leaves it.
func (s *service) forgetLateErased(ctx context.Context, sum *Summary) error {
	var gone []string
	for _, p := range sum.Participants {
		switch err := s.users.Exists(ctx, p.UserID); {
		case apperr.KindOf(err) == apperr.NotFound:
			gone = append(gone, p.UserID)
		case err != nil:
			return err
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		for _, id := range gone {
			if err := s.st.forgetInSummary(tx, sum.SessionID, id, s.now()); err != nil {
				return err
			}
		}
		return tx.Where("session_id = ? AND user_id IN ?", sum.SessionID, gone).Delete(&summaryMemberRow{}).Error
	})
}
