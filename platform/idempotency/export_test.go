package idempotency

// AbandonAfter exposes abandonAfter to the package's external tests.
const AbandonAfter = abandonAfter
