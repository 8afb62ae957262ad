-- contactsd schema, migration 13: each organization's calling hours.
-- Minutes after midnight, local to the callee: from `calling_start` up to,
-- not including, `calling_end` (1440 is midnight at the day's end), on the
-- ISO weekdays whose bits are set in `calling_days` (bit d for day d,
-- Monday = 1). The default: 09:00 to 21:00 every day.
ALTER TABLE organizations ADD COLUMN calling_start INTEGER NOT NULL DEFAULT 540;
ALTER TABLE organizations ADD COLUMN calling_end INTEGER NOT NULL DEFAULT 1260;
ALTER TABLE organizations ADD COLUMN calling_days INTEGER NOT NULL DEFAULT 254;
