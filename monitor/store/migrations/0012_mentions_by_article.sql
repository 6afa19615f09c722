-- The entities of one article: the sender asks it of each alert while entity mutes (/mute) are
-- in force, to hold an alert whose every entity is muted. Without it that is a scan of mentions.
CREATE INDEX mentions_article ON mentions(article_id);

-- Alerts held by entity mutes: the sender looks for them every minute, to release them as one
-- digest when their mute ends; the outbox is never pruned, so this must not be a scan of it.
CREATE INDEX outbox_held ON outbox(destination) WHERE status = 'muted';
