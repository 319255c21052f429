-- The deliveries list: one row per delivery with its pre-aggregated KPIs (delivery_summary).
WITH d AS (
    SELECT d.delivery_id, d.name, d.sender, d.provider, d.created_at, d.scheduled_at, d.is_proof,
           coalesce(s.sent, 0)      AS sent,
           coalesce(s.success, 0)   AS success,
           coalesce(s.delivered, 0) AS delivered,
           coalesce(s.failed, 0)    AS failed,
           coalesce(s.pending, 0)   AS pending,
           CASE WHEN s.sent > 0 THEN round(s.success::numeric / s.sent, 4) END AS success_rate,
           s.refreshed_at,
           CASE WHEN s.delivery_id IS NULL OR s.sent = 0 THEN 'not_sent'
                WHEN s.pending > 0 THEN 'in_progress'
                ELSE 'finished' END AS state
      FROM sms_tracking.delivery d
      LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id)
)
SELECT d.*, count(*) OVER () AS total
  FROM d
 WHERE (%(q)s::text IS NULL OR d.delivery_id = %(q)s OR d.name ILIKE %(q_like)s OR d.delivery_id ILIKE %(q_like)s)
   AND (%(date_from)s::timestamptz IS NULL OR d.created_at >= %(date_from)s)
   AND (%(date_to)s::timestamptz IS NULL OR d.created_at < %(date_to)s)
   AND (%(provider)s::text IS NULL OR d.provider = %(provider)s)
   AND (%(sender)s::text IS NULL OR d.sender = %(sender)s)
   AND (%(state)s::text IS NULL OR d.state = %(state)s)
   AND (%(proofs)s OR NOT d.is_proof)
 ORDER BY {order_by}
 LIMIT %(limit)s OFFSET %(offset)s;
