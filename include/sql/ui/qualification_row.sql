-- One qualification row, for its edit form and for the edit itself (locked until the edit commits).
SELECT provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, state,
       origin, first_text, occurrences, updated_at
  FROM sms_tracking.qualification
 WHERE provider = %(provider)s AND raw_status = %(raw_status)s AND error_code = %(error_code)s
{lock};
