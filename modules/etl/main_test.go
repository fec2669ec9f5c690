package etl

import (
	"testing"

	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
