package groups

import (
	"context"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Service is the groups module's contract: live group sessions and
// meetings. Methods that take a context act for the caller in it (its
// auth.Principal); Meetings is the trusted Go API other modules call.
type Service interface {
	// CreateSession opens a session hosted by the caller.
	CreateSession(ctx context.Context, in SessionInput) (*Session, error)
	// FindSessions lists the sessions the caller may see in a state.
	FindSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// FindSession returns a session the caller may see, with who is in it.
	FindSession(ctx context.Context, sessionID string) (*SessionDetail, error)
	// EndSession ends a live or scheduled session (its host or an admin).
	EndSession(ctx context.Context, sessionID string) (*Session, error)
	// Invite lets users join an invite-only session (its host or an admin).
	Invite(ctx context.Context, sessionID string, userIDs []string) (*Invites, error)
	// FindSummary returns an ended session's summary to its participants,
	// its host and admins.
	FindSummary(ctx context.Context, sessionID string) (*Summary, error)

	// CreateMeeting schedules a meeting organised by the caller.
	CreateMeeting(ctx context.Context, in MeetingInput) (*Meeting, error)
	// FindMeeting returns a meeting to its organizer, attendees or an admin.
	FindMeeting(ctx context.Context, meetingID string) (*Meeting, error)
	// UpdateMeeting moves, extends or re-titles a meeting and adds or
	// removes attendees (its organizer or an admin).
	UpdateMeeting(ctx context.Context, meetingID string, upd MeetingUpdate) (*Meeting, error)
	// DeleteMeeting cancels a meeting (its organizer or an admin).
	DeleteMeeting(ctx context.Context, meetingID string) error

	Meetings
}

// Meetings is the Go API the schedule module uses to open a meeting for a
// booking. It trusts its caller (no principal is checked) and is
// idempotent per key, so a saga step may run it again.
type Meetings interface {
	// ScheduleMeeting creates the meeting for spec.Key once; a repeat with
	// the same key returns the first meeting.
	ScheduleMeeting(ctx context.Context, spec MeetingSpec) (*Meeting, error)
	// CancelMeeting deletes a meeting; an unknown id is not an error.
	CancelMeeting(ctx context.Context, meetingID string) error
}

// Visibility of a session.
const (
	Public = "public" // anyone signed in may join
	Invite = "invite" // the host, invitees and admins
)

// Session states.
const (
	StateScheduled = "scheduled"
	StateLive      = "live"
	StateEnded     = "ended"
)

// Why a session ended.
const (
	EndedByHost  = "host"
	EndedByAdmin = "admin"
	EndedByTime  = "ends_at"
	EndedEmpty   = "empty"
	EndedMeeting = "meeting_cancelled"
)

// Limits.
const (
	DefaultCapacity = 50
	MaxCapacity     = 1000
	MaxTitle        = 200
	// DefaultMeetingType is a meeting's workout type unless it names one.
	DefaultMeetingType = "other"
	MaxInvites         = 200 // user ids in one invite request or meeting
	MaxDuration        = 24 * time.Hour
	// PastSlack is how far in the past a start may lie (clock skew).
	PastSlack = time.Minute
)

// SessionInput is POST /groups/sessions.
type SessionInput struct {
	Title       string     `json:"title"`
	WorkoutType string     `json:"workout_type"`
	Capacity    *int       `json:"capacity"`
	Visibility  string     `json:"visibility"`
	StartsAt    *time.Time `json:"starts_at"`
	EndsAt      *time.Time `json:"ends_at"`
}

// Session is a group workout session.
type Session struct {
	ID          string     `json:"session_id"`
	Title       string     `json:"title"`
	WorkoutType string     `json:"workout_type"`
	HostID      string     `json:"host_id"`
	Capacity    int        `json:"capacity"`
	Visibility  string     `json:"visibility"`
	State       string     `json:"state"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      *time.Time `json:"ends_at"`
	EndedAt     *time.Time `json:"ended_at"`
	EndReason   string     `json:"end_reason,omitempty"`
	MeetingID   string     `json:"meeting_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// SessionDetail is a session with who is in it now.
type SessionDetail struct {
	Session
	Participants []Participant `json:"participants"`
}

// Participant is someone present in a live session.
type Participant struct {
	UserID   string    `json:"user_id"`
	JoinedAt time.Time `json:"joined_at"`
	Host     bool      `json:"host"`
	Away     bool      `json:"away"` // their connection dropped; back within the grace period or gone
	Camera   bool      `json:"camera"`
	Mic      bool      `json:"mic"`
}

// SessionFilter selects a page of sessions in one state: scheduled ones
// soonest first, live and ended ones latest start first.
type SessionFilter struct {
	State  string
	Limit  int
	Cursor string
}

// InviteInput is POST /groups/sessions/{id}/invites.
type InviteInput struct {
	UserIDs []string `json:"user_ids"`
}

// Invites answers an invite: every user invited to the session.
type Invites struct {
	SessionID string   `json:"session_id"`
	UserIDs   []string `json:"user_ids"`
}

// MeetingInput is POST /meetings. WorkoutType defaults to DefaultMeetingType.
type MeetingInput struct {
	Title       string     `json:"title"`
	WorkoutType string     `json:"workout_type"`
	StartTime   *time.Time `json:"start_time"`
	EndTime     *time.Time `json:"end_time"`
	AttendeeIDs []string   `json:"attendee_ids"`
}

// MeetingUpdate is PUT /meetings/{id}: every field optional.
type MeetingUpdate struct {
	Title             *string    `json:"title"`
	StartTime         *time.Time `json:"start_time"`
	EndTime           *time.Time `json:"end_time"`
	AddAttendeeIDs    []string   `json:"add_attendee_ids"`
	RemoveAttendeeIDs []string   `json:"remove_attendee_ids"`
}

// MeetingSpec is a meeting another module schedules for OrganizerID.
type MeetingSpec struct {
	Key         string // once per key
	OrganizerID string
	Title       string
	WorkoutType string // "": DefaultMeetingType
	Start, End  time.Time
	AttendeeIDs []string
}

// Meeting is a planned live session for its attendees only.
type Meeting struct {
	ID          string    `json:"meeting_id"`
	Title       string    `json:"title"`
	OrganizerID string    `json:"organizer_id"`
	WorkoutType string    `json:"workout_type"`
	StartTime   time.Time `json:"start_time"`
	EndTime     time.Time `json:"end_time"`
	AttendeeIDs []string  `json:"attendee_ids"`
	SessionID   string    `json:"session_id"`
	State       string    `json:"state"` // its session's state
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Errors.
var (
	ErrSessionNotFound = apperr.NotFoundf("session_not_found", "Session")
	ErrMeetingNotFound = apperr.NotFoundf("meeting_not_found", "Meeting")
	ErrNotHost         = apperr.E(apperr.Forbidden, "not_host", "Only the session's host or an admin may do this.")
	ErrNotOrganizer    = apperr.E(apperr.Forbidden, "not_organizer", "Only the meeting's organizer or an admin may do this.")
	ErrSessionEnded    = apperr.E(apperr.Conflict, "session_ended", "The session has ended.")
	ErrMeetingStarted  = apperr.E(apperr.Conflict, "meeting_started", "The meeting has started: its start can no longer move.")
	ErrNotInvite       = apperr.E(apperr.Conflict, "session_public", "The session is public: anyone may join it without an invite.")
	ErrMeetingSession  = apperr.E(apperr.Conflict, "meeting_session", "The session belongs to a meeting: add attendees to the meeting instead.")
)
