-- The deliveries list: one row per delivery with its pre-aggregated KPIs (the view delivery_list).
-- The page's keys are chosen first, reading only the sort key (from an index of 0012/0013 when the
-- order has one: with 0027, from the index alone), and only those deliveries are then read in full.
WITH page AS MATERIALIZED (
    SELECT d.delivery_id
      FROM sms_tracking.delivery_list d
     WHERE {filters}
     ORDER BY {order_by}
     LIMIT %(limit)s OFFSET %(offset)s)
SELECT d.*
  FROM sms_tracking.delivery_list d
 WHERE d.delivery_id = ANY (ARRAY(SELECT delivery_id FROM page))  -- one bitmap scan, its pages read ahead
 ORDER BY {order_by};
