-- The deliveries list: one row per delivery with its pre-aggregated KPIs (the view delivery_list).
SELECT d.*
  FROM sms_tracking.delivery_list d
 WHERE {filters}
 ORDER BY {order_by}
 LIMIT %(limit)s OFFSET %(offset)s;
