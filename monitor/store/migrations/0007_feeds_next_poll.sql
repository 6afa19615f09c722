-- The polling job asks for the feeds whose next poll has come, every second.
CREATE INDEX IF NOT EXISTS feeds_next_poll ON feeds(next_poll_at);
