
evt-routed-1 İ–Â3 İ–Â3"apiÂ4
p-1	partner-3"emea-partners*follow-up overdue