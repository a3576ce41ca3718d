

evt-lead-1À»Ù–Â3ËÙ–Â3"web‚
p-1
webinar-q1 :crm