-- The object's modification time when it was loaded. An object whose size and modification time are those
-- of a loaded version is not read again to be checksummed: finding the new objects costs a listing, not a
-- read of the whole landing location, however much history it holds.
ALTER TABLE sms_tracking.source_object ADD COLUMN modified_at timestamptz;
COMMENT ON COLUMN sms_tracking.source_object.modified_at IS
    'modification time of the object when it was loaded (with size_bytes, the quick check of pending objects)';
