"""Access governance: registrations, four-eyes access changes, enrolment codes, notifications."""
