package groups

import (
	"context"
	"encoding/json"
	"slices"

	"gorm.io/gorm"
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
			if err := forgetInSummary(tx, id, userID); err != nil {
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
// counts, which never named anyone, stay.
func forgetInSummary(tx *gorm.DB, sessionID, userID string) error {
	var row summaryRow
	if err := tx.Where("session_id = ?", sessionID).Limit(1).Find(&row).Error; err != nil || row.SessionID == "" {
		return err
	}
	var sum Summary
	if err := json.Unmarshal([]byte(row.Summary), &sum); err != nil {
		return err
	}
	sum.Participants = slices.DeleteFunc(sum.Participants, func(p SummaryParticipant) bool { return p.UserID == userID })
	doc, err := json.Marshal(&sum)
	if err != nil {
		return err
	}
	return tx.Model(&summaryRow{}).Where("session_id = ?", sessionID).Update("summary", string(doc)).Error
}
