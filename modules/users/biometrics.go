package users

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Sexes a user may record.
var Sexes = []string{"female", "male", "other", "undisclosed"}

// FindBiometrics implements Service.
func (s *service) FindBiometrics(ctx context.Context, userID string) (*Biometrics, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	q := s.db.Read(ctx)
	if _, err := s.store.accountByID(q, userID); err != nil {
		return nil, err
	}
	row, err := s.store.biometrics(q, userID)
	if err != nil {
		return nil, err
	}
	hist, err := s.store.weightHistory(q, userID)
	if err != nil {
		return nil, err
	}
	return biometricsDTO(row, hist), nil
}

// Basics implements Service. Answers come from the shared cache; every
// change of a field they carry forgets the user's entry.
func (s *service) Basics(ctx context.Context, userID string) (*UserBasics, error) {
	return basicsViews.load(ctx, s.views, userID, func() (*UserBasics, error) {
		a, b, err := s.store.profile(s.db.Read(ctx), userID)
		if err != nil {
			return nil, err
		}
		out := &UserBasics{UserID: a.ID, Role: a.Role, Timezone: a.Timezone,
			QuietStart: a.QuietHoursStart, QuietEnd: a.QuietHoursEnd}
		if b != nil {
			out.WeightKG = b.WeightKG
		}
		return out, nil
	})
}

// UpdateBiometrics implements Service: every change of weight appends a dated
// measurement to the history.
func (s *service) UpdateBiometrics(ctx context.Context, userID string, upd BiometricsUpdate) (*Biometrics, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	now := s.clock()
	birth, err := validateBiometrics(upd, now)
	if err != nil {
		return nil, err
	}
	var (
		row  *biometricsRow
		hist []weightRow
	)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.store.accountByID(tx, userID); err != nil {
			return err
		}
		if row, err = s.store.biometrics(tx, userID); err != nil {
			return err
		}
		if row == nil {
			row = &biometricsRow{UserID: userID}
		}
		weightChanged := upd.WeightKG != nil && (row.WeightKG == nil || *row.WeightKG != *upd.WeightKG)
		if upd.HeightCM != nil {
			row.HeightCM = upd.HeightCM
		}
		if upd.WeightKG != nil {
			row.WeightKG = upd.WeightKG
		}
		if birth != nil {
			row.BirthDate = birth
		}
		if upd.Sex != nil {
			row.Sex = upd.Sex
		}
		row.UpdatedAt = now
		if err := translate(tx.Save(row).Error, nil); err != nil {
			return err
		}
		if weightChanged {
			w := &weightRow{ID: newID(), UserID: userID, WeightKG: *upd.WeightKG, MeasuredAt: now}
			if err := translate(tx.Create(w).Error, nil); err != nil {
				return err
			}
		}
		hist, err = s.store.weightHistory(tx, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.views.forget(ctx, userID)
	return biometricsDTO(row, hist), nil
}

func validateBiometrics(upd BiometricsUpdate, now time.Time) (*time.Time, error) {
	v := apperr.Validation{}
	if upd.HeightCM != nil {
		v.Check(*upd.HeightCM >= 50 && *upd.HeightCM <= 272, "height_cm", "must be between 50 and 272")
	}
	if upd.WeightKG != nil {
		v.Check(*upd.WeightKG >= 20 && *upd.WeightKG <= 500, "weight_kg", "must be between 20 and 500")
	}
	if upd.Sex != nil {
		v.Check(slices.Contains(Sexes, *upd.Sex), "sex", "must be female, male, other or undisclosed")
	}
	var birth *time.Time
	if upd.BirthDate != nil {
		d, err := time.Parse(time.DateOnly, *upd.BirthDate)
		switch {
		case err != nil:
			v.Add("birth_date", "must be a date like 1990-04-23")
		case d.Year() < 1900 || d.After(now.AddDate(-5, 0, 0)):
			v.Add("birth_date", "must be after 1900 and at least 5 years ago")
		default:
			birth = &d
		}
	}
	return birth, v.Err()
}

func biometricsDTO(row *biometricsRow, hist []weightRow) *Biometrics {
	b := &Biometrics{WeightHistory: make([]WeightEntry, 0, len(hist))}
	for _, h := range hist {
		b.WeightHistory = append(b.WeightHistory, WeightEntry{WeightKG: h.WeightKG, MeasuredAt: h.MeasuredAt})
	}
	if row == nil {
		return b
	}
	b.HeightCM, b.WeightKG, b.Sex, b.UpdatedAt = row.HeightCM, row.WeightKG, row.Sex, &row.UpdatedAt
	if row.BirthDate != nil {
		d := row.BirthDate.Format(time.DateOnly)
		b.BirthDate = &d
	}
	return b
}

// summarize is the short biometrics block of a full profile.
func summarize(row *biometricsRow, now time.Time) *BiometricsSummary {
	if row == nil {
		return nil
	}
	s := &BiometricsSummary{HeightCM: row.HeightCM, WeightKG: row.WeightKG, Sex: row.Sex}
	if row.BirthDate != nil {
		// Compare month and day, not the day of the year, which shifts by
		// one after 28 February in leap years.
		b := row.BirthDate
		age := now.Year() - b.Year()
		if now.Month() < b.Month() || (now.Month() == b.Month() && now.Day() < b.Day()) {
			age--
		}
		s.Age = &age
	}
	return s
}
