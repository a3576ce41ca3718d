

evt-lead-1À»Ù–Â3ËÙ–Â3"webbŒ
p-1Ada.Lovelace@Example.com+49 30 1234567"Ada*Lovelace2Analytical Engines Ltd:acc-1B&

webinar-q1WQ1webinar"
newsletterJrep-7 ªhi±»¼