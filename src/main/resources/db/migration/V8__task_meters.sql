-- The meters of task families: seconds of audio transcribed, images classified, rows predicted. Each has a unit
-- price and a charge beside the token, request and compute ones; rows written before cost nothing on them.
ALTER TABLE prices ADD COLUMN per_audio_second TEXT NOT NULL DEFAULT '0';
ALTER TABLE prices ADD COLUMN per_image TEXT NOT NULL DEFAULT '0';
ALTER TABLE prices ADD COLUMN per_row TEXT NOT NULL DEFAULT '0';

ALTER TABLE usage_records ADD COLUMN audio_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN images INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN row_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN audio_charge TEXT NOT NULL DEFAULT '0';
ALTER TABLE usage_records ADD COLUMN image_charge TEXT NOT NULL DEFAULT '0';
ALTER TABLE usage_records ADD COLUMN row_charge TEXT NOT NULL DEFAULT '0';
