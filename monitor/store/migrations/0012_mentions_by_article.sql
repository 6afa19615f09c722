-- The entities of one article: the sender asks it of each alert while entity mutes (/mute) are
-- in force, to hold an alert whose every entity is muted. Without it that is a scan of mentions.
CREATE INDEX mentions_article ON mentions(article_id);
