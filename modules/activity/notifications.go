package activity

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
)

// Notification kinds.
const (
	KindGoalBehind   = "goal_behind"
	KindGoalAchieved = "goal_achieved"
)

// EventNotification is the realtime event type a new notification is
// pushed with to the user's sockets.
const EventNotification = "notification"

// Notification is an in-app message to a user about their goals.
type Notification struct {
	ID        string     `json:"notification_id" gorm:"primaryKey"`
	UserID    string     `json:"user_id"`
	Kind      string     `json:"kind"`
	GoalID    string     `json:"goal_id"`
	GoalType  string     `json:"goal_type"`
	Message   string     `json:"message"`
	DedupeKey string     `json:"-"`
	CreatedAt time.Time  `json:"created_at" gorm:"autoCreateTime:false"`
	ReadAt    *time.Time `json:"read_at"`
}

// TableName maps Notification to its table.
func (Notification) TableName() string { return "activity_notifications" }

// NotificationFilter selects a page of notifications, newest first.
type NotificationFilter struct {
	Unread bool
	Limit  int
	Cursor string // the id after which the page starts
}

// ReadAll answers POST .../notifications/read-all.
type ReadAll struct {
	Updated int64 `json:"updated"`
}

// ErrNotificationNotFound is a notification that is not there or not the
// caller's.
var ErrNotificationNotFound = apperr.NotFoundf("notification_not_found", "Notification")

// notifications keeps notifications in the operational database, whichever
// store holds the samples.
type notifications struct{ db *database.DB }

// add stores n unless a notification with its dedupe key exists; created
// tells which.
func (st notifications) add(ctx context.Context, n *Notification) (created bool, err error) {
	err = st.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(n)
		created = res.RowsAffected == 1
		return res.Error
	})
	return created, err
}

func (st notifications) list(ctx context.Context, userID string, f NotificationFilter) ([]Notification, error) {
	q := st.db.Read(ctx).Where("user_id = ?", userID)
	if f.Unread {
		q = q.Where("read_at IS NULL")
	}
	if f.Cursor != "" {
		q = q.Where("id < ?", f.Cursor)
	}
	var out []Notification
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	for i := range out {
		utcNotification(&out[i])
	}
	return out, err
}

// markRead sets read_at on one notification of the user unless it is set;
// it returns the notification as stored.
func (st notifications) markRead(ctx context.Context, userID, id string, now time.Time) (*Notification, error) {
	var n Notification
	err := st.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Notification{}).Where("id = ? AND user_id = ? AND read_at IS NULL", id, userID).
			Update("read_at", now).Error; err != nil {
			return err
		}
		err := tx.Where("id = ? AND user_id = ?", id, userID).Take(&n).Error
		if database.IsNotFound(err) {
			return ErrNotificationNotFound
		}
		return err
	})
	utcNotification(&n)
	return &n, err
}

func (st notifications) markAllRead(ctx context.Context, userID string, now time.Time) (int64, error) {
	var n int64
	err := st.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Notification{}).Where("user_id = ? AND read_at IS NULL", userID).Update("read_at", now)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// countSince counts the user's notifications of a kind created at or after
// since, and returns the latest one's time (zero when none).
func (st notifications) countSince(ctx context.Context, userID, kind string, since time.Time) (int64, time.Time, error) {
	q := func() *gorm.DB {
		return st.db.Read(ctx).Model(&Notification{}).Where("user_id = ? AND kind = ? AND created_at >= ?", userID, kind, since)
	}
	var n int64
	if err := q().Count(&n).Error; err != nil || n == 0 {
		return n, time.Time{}, err
	}
	var last Notification
	err := q().Order("created_at DESC").Take(&last).Error
	return n, last.CreatedAt.UTC(), err
}

func (st notifications) eraseUser(ctx context.Context, userID string) error {
	return st.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&Notification{}).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", userID).Delete(&goalPlan{}).Error
	})
}

func utcNotification(n *Notification) {
	n.CreatedAt = n.CreatedAt.UTC()
	if n.ReadAt != nil {
		t := n.ReadAt.UTC()
		n.ReadAt = &t
	}
}

// FindNotifications implements Service.
func (s *service) FindNotifications(ctx context.Context, userID string, f NotificationFilter) ([]Notification, error) {
	if err := s.mayActFor(ctx, userID); err != nil {
		return nil, err
	}
	return s.notes.list(ctx, userID, f)
}

// ReadNotification implements Service.
func (s *service) ReadNotification(ctx context.Context, userID, id string) (*Notification, error) {
	if err := s.mayActFor(ctx, userID); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return nil, ErrNotificationNotFound
		}
		return nil, err
	}
	return s.notes.markRead(ctx, userID, id, s.clock())
}

// ReadAllNotifications implements Service.
func (s *service) ReadAllNotifications(ctx context.Context, userID string) (*ReadAll, error) {
	if err := s.mayActFor(ctx, userID); err != nil {
		return nil, err
	}
	n, err := s.notes.markAllRead(ctx, userID, s.clock())
	if err != nil {
		return nil, err
	}
	return &ReadAll{Updated: n}, nil
}

// notify stores a notification once per dedupe key and pushes a new one to
// the user's sockets. The push is best effort: the notification is stored
// and listed whether or not a socket was there to get it.
func (s *service) notify(ctx context.Context, n *Notification) (bool, error) {
	n.ID, n.CreatedAt = newID(), s.clock()
	created, err := s.notes.add(ctx, n)
	if err != nil || !created {
		return false, err
	}
	if err := s.push.PublishUser(ctx, n.UserID, EventNotification, n); err != nil {
		s.log.WarnContext(ctx, "activity: push notification", "user_id", n.UserID, "err", err)
	}
	return true, nil
}
