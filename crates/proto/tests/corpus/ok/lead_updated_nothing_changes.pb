
evt-lead-upd-2€ˆ²†Â3j
p-2