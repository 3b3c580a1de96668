"""TinyMS 0.3's ``tinyms.utils.train`` (callback sets, schedules, loss scale managers), re-exported."""
