

evt-lead-1À»Ù–Â3ËÙ–Â3"web