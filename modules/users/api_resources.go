package users

import (
	"time"

	"github.com/fitloop/fitloop/platform/httpx"
)

// Biometrics are a user's body measurements and weight history.
type Biometrics struct {
	HeightCM      *float64      `json:"height_cm"`
	WeightKG      *float64      `json:"weight_kg"`
	BirthDate     *string       `json:"birth_date"`
	Sex           *string       `json:"sex"`
	UpdatedAt     *time.Time    `json:"updated_at"`
	WeightHistory []WeightEntry `json:"weight_history"`
}

// WeightEntry is one dated weight measurement.
type WeightEntry struct {
	WeightKG   float64   `json:"weight_kg"`
	MeasuredAt time.Time `json:"measured_at"`
}

// BiometricsUpdate is the body of PUT /users/{user_id}/biometrics; nil fields
// are unchanged.
type BiometricsUpdate struct {
	HeightCM  *float64 `json:"height_cm"`
	WeightKG  *float64 `json:"weight_kg"`
	BirthDate *string  `json:"birth_date"`
	Sex       *string  `json:"sex"`
}

// Goal types, periods and statuses.
var (
	GoalTypes    = []string{"steps", "calories_burned", "workouts", "active_minutes", "distance_km", "weight_kg"}
	GoalPeriods  = []string{"daily", "weekly", "monthly", "total"}
	GoalStatuses = []string{"active", "completed", "cancelled"}
)

// Goal is a user's fitness goal with its current progress.
type Goal struct {
	GoalID          string    `json:"goal_id"`
	UserID          string    `json:"user_id"`
	GoalType        string    `json:"goal_type"`
	TargetValue     float64   `json:"target_value"`
	TargetDate      string    `json:"target_date"`
	Period          string    `json:"period"`
	Status          string    `json:"status"`
	CurrentProgress float64   `json:"current_progress"`
	Pace            GoalPace  `json:"pace"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// GoalPace says whether a goal's progress keeps up with its current period,
// as the ProgressSource computed it (see Progress).
type GoalPace struct {
	Expected      *float64 `json:"expected"`       // where the user should be by now; nil when it means nothing
	ProjectedDate *string  `json:"projected_date"` // YYYY-MM-DD the target is reached at this pace; nil when not within the period (or the target date)
	OnTrack       bool     `json:"on_track"`
}

// GoalInput is the body of POST /users/{user_id}/goals.
type GoalInput struct {
	GoalType    string  `json:"goal_type"`
	TargetValue float64 `json:"target_value"`
	TargetDate  string  `json:"target_date"`
	Period      string  `json:"period"`
}

// GoalUpdate is the body of PUT /users/{user_id}/goals/{goal_id}.
type GoalUpdate struct {
	TargetValue *float64 `json:"target_value"`
	TargetDate  *string  `json:"target_date"`
	Period      *string  `json:"period"`
	Status      *string  `json:"status"`
}

// GoalFilter narrows a goal list.
type GoalFilter struct {
	Status string
	Page   httpx.Page
}

// TokenInput is the body of POST /users/{user_id}/tokens.
type TokenInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Token describes a personal API token without its secret.
type Token struct {
	TokenID    string     `json:"token_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreatedToken is a new token with its secret, shown this once.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}
