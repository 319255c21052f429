-- The deliveries list sorted by success rate, for a page of deliveries that have a rate: those rank
-- before every delivery without one (nulls last, in both directions), so their order alone gives the
-- page. They are read in the order of the index delivery_summary_success_rate (0018) instead of
-- joining and sorting every delivery; a page that comes back short reaches the deliveries without a
-- rate and is read by deliveries.sql instead (queries.deliveries).
WITH page AS MATERIALIZED (
    SELECT r.delivery_id
      FROM (SELECT s.delivery_id,
                   sms_tracking.success_rate(s.success, s.sent) AS success_rate  -- as delivery_list, its index's
              FROM sms_tracking.delivery_summary s) r
     WHERE r.success_rate IS NOT NULL
       -- IS TRUE keeps the EXISTS a filter of the index scan: as a semi-join it would lose the index's
       -- order and sort every delivery again. The filter hashes the matching deliveries once, or, if
       -- they would not fit in memory, probes the delivery's primary key per row (an IN would fall
       -- back to scanning the whole list per row instead).
       AND EXISTS (SELECT FROM sms_tracking.delivery_list d WHERE d.delivery_id = r.delivery_id AND {filters}) IS TRUE
     ORDER BY {order_by}
     LIMIT %(limit)s OFFSET %(offset)s)
SELECT d.*
  FROM sms_tracking.delivery_list d
 WHERE d.delivery_id = ANY (ARRAY(SELECT delivery_id FROM page))  -- one bitmap scan, its pages read ahead
 ORDER BY {order_by};
