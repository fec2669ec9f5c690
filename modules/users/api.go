package users

import (
	"context"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

// Service is the users module's contract. Methods read the caller from the
// context (auth.PrincipalFrom); "self or admin" means the caller is the user
// named by userID or an admin, and anyone else gets the resource's NotFound.
type Service interface {
	// Register creates a customer or instructor account; only an admin may
	// create an admin. Errors: Invalid, Conflict (email_taken, username_taken),
	// Forbidden (role_forbidden).
	Register(ctx context.Context, in RegisterInput) (*Account, error)
	// Login checks credentials and opens a session. Errors: Unauthenticated
	// (invalid_credentials), RateLimited (too_many_attempts).
	Login(ctx context.Context, in LoginInput) (*LoginResult, error)
	// Authenticate resolves a bearer credential (session JWT or API token).
	Authenticate(ctx context.Context, credential string) (*auth.Principal, error)

	// CurrentSession returns the caller's session. ExtendSession issues a new
	// token with a later expiry. Logout revokes the caller's session.
	CurrentSession(ctx context.Context) (*Session, error)
	ExtendSession(ctx context.Context) (*LoginResult, error)
	Logout(ctx context.Context) error
	// FindSessions lists the caller's live sessions; RevokeSession ends one of
	// them (NotFound for anyone else's).
	FindSessions(ctx context.Context) ([]*Session, error)
	RevokeSession(ctx context.Context, sessionID string) error

	// FindUserByID returns the public profile to any signed-in caller and the
	// full profile to self or admin. Errors: NotFound (user_not_found).
	FindUserByID(ctx context.Context, userID string) (*Profile, error)
	// UpdateUser changes profile fields (self or admin); an email change by the
	// user needs current_password.
	UpdateUser(ctx context.Context, userID string, upd UserUpdate) (*Profile, error)
	// DeleteUser closes an account (self with password, or admin): it can no
	// longer log in, its sessions and tokens die, its profile is gone; the
	// users.delete_account saga (whose id it returns) erases the data.
	DeleteUser(ctx context.Context, userID, password string) (sagaID string, err error)
	// ChangePassword replaces the password and revokes every other session.
	// The user gives the current password; an admin resetting another user's
	// password does not (and all of that user's sessions end).
	ChangePassword(ctx context.Context, userID string, in PasswordChange) (*PasswordChanged, error)

	// FindBiometrics and UpdateBiometrics are private (self or admin).
	FindBiometrics(ctx context.Context, userID string) (*Biometrics, error)
	UpdateBiometrics(ctx context.Context, userID string, upd BiometricsUpdate) (*Biometrics, error)

	// Goals are private (self or admin). Errors: NotFound (goal_not_found), Invalid.
	CreateGoal(ctx context.Context, userID string, in GoalInput) (*Goal, error)
	FindGoals(ctx context.Context, userID string, f GoalFilter) ([]*Goal, error)
	FindGoalByID(ctx context.Context, userID, goalID string) (*Goal, error)
	UpdateGoal(ctx context.Context, userID, goalID string, upd GoalUpdate) (*Goal, error)
	DeleteGoal(ctx context.Context, userID, goalID string) error

	// API tokens are private (self or admin, from a signed-in session).
	CreateToken(ctx context.Context, userID string, in TokenInput) (*CreatedToken, error)
	FindTokens(ctx context.Context, userID string) ([]*Token, error)
	DeleteToken(ctx context.Context, userID, tokenID string) error

	// Basics returns what other modules need to know about a live account
	// (time zone, quiet hours, weight). It checks no caller: modules call it
	// after their own authorization. Errors: NotFound (user_not_found).
	Basics(ctx context.Context, userID string) (*UserBasics, error)
	// ActiveGoals lists active goals of live accounts (across all users when
	// q.UserID is empty), ordered by goal id ascending, after q.After, at most
	// q.Limit (default 100, max 1000). "Live" is neither deleted nor disabled.
	// It checks no caller: modules call it after their own authorization (a
	// cron job walking every user's goals has none). Errors: Invalid (an
	// unknown period).
	ActiveGoals(ctx context.Context, q ActiveGoalQuery) ([]ActiveGoal, error)
	// AccountChanges is the account change feed for the reporting
	// warehouse: every account written (created, changed, disabled, closed,
	// reopened, erased) strictly after the cursor, in (ChangedAt, UserID)
	// order, at most limit (1 to MaxChanges), each as it is now; nothing
	// personal (see AccountChange). GoalChanges is the same for goals, with a
	// tombstone for each deleted goal, in (ChangedAt, GoalID) order. Neither
	// checks a caller. Errors: Invalid (limit). See doc.go for what a
	// consumer must do not to miss a change on PostgreSQL.
	AccountChanges(ctx context.Context, after ChangeCursor, limit int) ([]AccountChange, error)
	GoalChanges(ctx context.Context, after ChangeCursor, limit int) ([]GoalChange, error)

	// FindUsers and AdminUpdateUser are for admins only (Forbidden otherwise).
	FindUsers(ctx context.Context, f UserFilter) ([]*Profile, error)
	AdminUpdateUser(ctx context.Context, userID string, upd AdminUpdate) (*Profile, error)
}

// Error sentinels clients can tell apart by code.
var (
	ErrUserNotFound       = apperr.NotFoundf("user_not_found", "User")
	ErrGoalNotFound       = apperr.NotFoundf("goal_not_found", "Goal")
	ErrSessionNotFound    = apperr.NotFoundf("session_not_found", "Session")
	ErrTokenNotFound      = apperr.NotFoundf("token_not_found", "Token")
	ErrInvalidCredentials = apperr.E(apperr.Unauthenticated, "invalid_credentials", "Email or password is wrong.")
	ErrEmailTaken         = &apperr.Error{Kind: apperr.Conflict, Code: "email_taken", Message: "That email is already registered.", Fields: map[string]string{"email": "is already registered"}}
	ErrUsernameTaken      = &apperr.Error{Kind: apperr.Conflict, Code: "username_taken", Message: "That username is taken.", Fields: map[string]string{"username": "is taken"}}
	ErrForbidden          = apperr.E(apperr.Forbidden, "forbidden", "You may not do this.")
	ErrWrongPassword      = &apperr.Error{Kind: apperr.Forbidden, Code: "wrong_password", Message: "The current password is wrong.", Fields: map[string]string{"current_password": "is wrong"}}
)

// UserBasics is what other modules read about a user. QuietStart and
// QuietEnd ("HH:MM" in Timezone) bound the user's quiet hours, when no
// notification should reach them; the span may cross midnight (22:00–07:00 by
// default), and start == end means no quiet hours.
type UserBasics struct {
	UserID               string
	Role                 string
	Timezone             string // IANA name, "UTC" by default
	QuietStart, QuietEnd string
	WeightKG             *float64 // nil when never given
}

// ActiveGoalQuery selects goals for ActiveGoals.
type ActiveGoalQuery struct {
	UserID  string   // one user's goals; empty: every user's
	Periods []string // goals of these periods (GoalPeriods); empty: every period
	After   string   // a goal id: only goals with a greater id (keyset paging)
	Limit   int      // at most this many; 0 means 100, more than 1000 means 1000
}

// ActiveGoal is an active goal of a live account, as other modules see it.
type ActiveGoal struct {
	GoalID, UserID, GoalType, Period string
	TargetValue                      float64
	TargetDate                       string // YYYY-MM-DD
	CreatedAt                        time.Time
}

// RegisterInput is the body of POST /users/register.
type RegisterInput struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role,omitempty"`
}

// Account is the answer to a registration.
type Account struct {
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// LoginInput is the body of POST /users/login. ClientIP and UserAgent come from
// the request, not the body.
type LoginInput struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	ClientIP  string `json:"-"`
	UserAgent string `json:"-"`
}

// LoginResult carries a new access token.
type LoginResult struct {
	Token           string    `json:"token"`
	UserID          string    `json:"user_id"`
	SessionID       string    `json:"session_id"`
	ExpiresAt       time.Time `json:"expires_at"`
	PasswordExpired bool      `json:"password_expired"`
}

// Session is one signed-in session.
type Session struct {
	SessionID  string    `json:"session_id"`
	UserID     string    `json:"user_id"`
	Role       string    `json:"role"`
	UserAgent  string    `json:"user_agent"`
	ClientIP   string    `json:"client_ip"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"`
}

// Profile is a user as others see them; the private fields are set only for
// the user themself and admins.
type Profile struct {
	UserID      string    `json:"user_id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Bio         string    `json:"bio"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
	*Private
}

// Private holds the fields only the user and admins see. The quiet hours
// ("HH:MM" in Timezone, 22:00–07:00 by default) are when no notification is
// sent; the span may cross midnight, and start == end means none.
type Private struct {
	Email           string `json:"email"`
	Timezone        string `json:"timezone"`
	Units           string `json:"units"`
	QuietHoursStart string `json:"quiet_hours_start"`
	QuietHoursEnd   string `json:"quiet_hours_end"`
	// LeaderboardOptIn: the user appears on the leaderboard analytics serves
	// from the reporting warehouse; false until they opt in.
	LeaderboardOptIn bool               `json:"leaderboard_opt_in"`
	Disabled         bool               `json:"disabled"`
	UpdatedAt        time.Time          `json:"updated_at"`
	Biometrics       *BiometricsSummary `json:"biometrics"`
}

// BiometricsSummary is the short form of biometrics in a full profile.
type BiometricsSummary struct {
	HeightCM *float64 `json:"height_cm"`
	WeightKG *float64 `json:"weight_kg"`
	Age      *int     `json:"age"`
	Sex      *string  `json:"sex"`
}

// UserUpdate is the body of PUT /users/{user_id}; nil fields are unchanged.
type UserUpdate struct {
	DisplayName     *string `json:"display_name"`
	Bio             *string `json:"bio"`
	Timezone        *string `json:"timezone"`
	Units           *string `json:"units"`
	QuietHoursStart *string `json:"quiet_hours_start"` // "HH:MM", 00:00–23:59
	QuietHoursEnd   *string `json:"quiet_hours_end"`   // "HH:MM"; equal to the start: no quiet hours
	// LeaderboardOptIn puts the user on the leaderboard (true) or takes
	// them off it (false).
	LeaderboardOptIn *bool   `json:"leaderboard_opt_in"`
	Email            *string `json:"email"`
	CurrentPassword  *string `json:"current_password"`
}

// AccountDeletion answers DELETE /users/{user_id}: the account is closed and
// the saga that erases its data runs on.
type AccountDeletion struct {
	SagaID string `json:"saga_id"`
	Status string `json:"status"`
}

// PasswordChange is the body of PUT /users/{user_id}/password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// PasswordChanged answers a password change.
type PasswordChanged struct {
	PasswordExpiresAt time.Time `json:"password_expires_at"`
	RevokedSessions   int       `json:"revoked_sessions"`
}

// UserFilter narrows the admin user list.
type UserFilter struct {
	Query string // matches username or email (substring, case-insensitive)
	Page  httpx.Page
}

// AdminUpdate is the body of PUT /admin/users/{user_id}.
type AdminUpdate struct {
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}
