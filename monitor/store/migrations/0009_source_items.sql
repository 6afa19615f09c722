-- What the source says about an item beyond its feed text: who published it (Google News
-- <source>, a Telegram channel's title), the page to fetch when it is not the item's own link (a
-- post's linked article), the aggregator link an article was reached through before it was
-- resolved to the publisher's, and the content key that tells an edited post from the stored one.
ALTER TABLE articles ADD COLUMN source_outlet TEXT;
ALTER TABLE articles ADD COLUMN page_url TEXT;
ALTER TABLE articles ADD COLUMN source_link TEXT;
ALTER TABLE articles ADD COLUMN content_key TEXT;
-- 1: the item's own text is the article (a channel post), its link is not a page to extract.
ALTER TABLE articles ADD COLUMN own_text INTEGER NOT NULL DEFAULT 0;
-- "links unresolved: …" for a Google News feed whose links could not be resolved at its last poll.
ALTER TABLE feeds ADD COLUMN link_note TEXT;
